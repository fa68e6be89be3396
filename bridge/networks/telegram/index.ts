// The Telegram Bot API network adapter: getMe for identity, a getUpdates long-poll chain with a
// persisted offset, sendMessage to chats and forum topics.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { backoffDelay, classifyFailure, HTTPStream, redactText, type RetryOptions, type ResponseInfo } from "../../../src/index.ts";
import type { TelegramNetworkConfig } from "../../config/types.ts";
import type { MessageSink, NetworkAdapter } from "../../network.ts";
import { SendError } from "../../network.ts";
import { authRetryDelay } from "../shared/auth-retry.ts";
import { deliverWithRetry } from "../shared/deliver.ts";
import { setAside } from "../shared/state-file.ts";
import { RepeatedWarning } from "../shared/repeated-warning.ts";
import { StatusHolder } from "../shared/status.ts";
import { ApiError, botApi, getMeRequest, MAX_POLL_TIMEOUT, MAX_TEXT_LENGTH, parseMe, readAnswer, type Me } from "./api.ts";
import { GroupIndex, parseGroup, type GroupTarget } from "./groups.ts";
import { readUpdate } from "./inbound.ts";
import { loadOffset, offsetPath, saveOffset } from "./offset-store.ts";
import { runPoller } from "./poller.ts";
import { AUTH_RETRY_MS, sendMessage } from "./send.ts";
import { deleteMessage, editText } from "./edit-delete.ts";
import { fetchMedia } from "./fetch-media.ts";
import { readMessageRef } from "./message-ref.ts";
import { sendMedia } from "./send-media.ts";

/** sendMessage's limit; the relay splits longer texts. */
export const TELEGRAM_MAX_MESSAGE_LENGTH = MAX_TEXT_LENGTH;

/** Default long-poll hold (s): below common idle-connection cutoffs, well within the server's 50. */
const DEFAULT_POLL_TIMEOUT = 30;
/** Longest wait between two tries of a refused token. */
const MAX_AUTH_RETRY_MS = 30 * 60_000;

export interface TelegramOptions {
  id: string;
  config: TelegramNetworkConfig;
  stateDir: string;
  logger: Logger;
  groups: string[];
  retry?: Partial<RetryOptions>;
  /** Observes every answered HTTP request (run wires poll latency metrics to it). */
  onResponse?: (info: ResponseInfo) => void;
  pollTimeoutSeconds?: number;
  /** How long a sendMessage waits for its answer (default SEND_TIMEOUT_MS); past it the send is "unknown". */
  sendTimeoutMs?: number;
  /** Called once per update that could not be turned into a message (pollbridge_events_rejected_total). */
  onEventRejected?: (reason: string) => void;
}

export function createTelegram(opts: TelegramOptions): NetworkAdapter {
  const log = opts.logger.child({ network: opts.id });
  const api = botApi(opts.config.token, opts.config.api);
  const secrets = [api.token];
  const backoff = { min: opts.retry?.minTimeout ?? 1_000, max: opts.retry?.maxTimeout ?? 60_000 };
  const pollTimeout = Math.min(MAX_POLL_TIMEOUT, Math.max(1, Math.round(opts.pollTimeoutSeconds ?? DEFAULT_POLL_TIMEOUT)));
  const file = offsetPath(opts.stateDir, opts.id);

  // Bad group ids are reported once here and make send() fatal; the others work.
  const valid: GroupTarget[] = [];
  const invalid = new Map<string, string>();
  for (const g of opts.groups) {
    try {
      valid.push(parseGroup(g));
    } catch (err) {
      invalid.set(g, (err as Error).message);
      log.error({ group: g, err: (err as Error).message }, "telegram: unusable group id; it is not relayed");
    }
  }
  const groups = new GroupIndex(valid);

  let stream: HTTPStream | null = null;
  let me: Me | null = null;
  let saved: { botId: string; offset: number } | null = null;
  /** The first update not yet handed to the sink (what the next poll confirms up to). */
  let offset: number | undefined;
  let persisted: number | undefined;
  const main = new AbortController();
  let running: Promise<void> | null = null;

  const status = new StatusHolder({ log, network: "telegram", redact: (detail) => redactText(detail, secrets) });
  const warnings = new RepeatedWarning(log);
  const setStatus = (state: string, detail?: string): void => status.set(state, detail);

  async function persist(): Promise<void> {
    if (!me || offset === undefined || offset === persisted) return;
    try {
      await saveOffset(file, me.id, offset);
      persisted = offset;
    } catch (err) {
      // The next poll still confirms these updates; a restart before the next save may replay a few (ids dedupe them).
      log.error({ err: (err as Error).message }, "telegram: could not save the update offset");
    }
  }

  async function loadSaved(): Promise<void> {
    try {
      saved = await loadOffset(file);
    } catch (err) {
      const aside = await setAside(file).catch(() => file);
      log.error({ err: (err as Error).message, keptAs: aside }, "telegram: saved offset unusable; starting from the server's earliest unconfirmed update");
      saved = null;
    }
  }

  /** The saved offset applies only to the bot it was saved for. */
  function adoptOffset(bot: Me): void {
    if (offset !== undefined) return;
    if (saved && saved.botId === bot.id) {
      offset = persisted = saved.offset;
    } else if (saved) {
      log.warn({ savedFor: saved.botId, bot: bot.id }, "telegram: saved offset belongs to another bot; ignored");
    }
  }

  /** Hands an answer's updates to the sink in order; resolves with whether the offset moved. */
  async function handleUpdates(sink: MessageSink, updates: unknown[], signal: AbortSignal): Promise<boolean> {
    const before = offset;
    try {
      for (const raw of updates) {
        const v = readUpdate(raw, groups, me?.id, me?.username);
        if (v.kind === "no-id") {
          // Without an id it cannot be confirmed on its own; a later update's offset confirms it.
          rejected(`update without a usable update_id (${v.reason})`);
          warnings.warn("update:no-id", { why: v.reason }, "telegram: update without a usable update_id skipped");
          continue;
        }
        if (offset !== undefined && v.updateId < offset) continue; // already through the sink
        if (v.kind === "message") await deliverWithRetry(sink, v.message, { backoff, log, network: "telegram", signal });
        else if (v.kind === "skip") log.debug({ update_id: v.updateId, why: v.reason }, "telegram: update skipped");
        else {
          // Logged once: the offset moves past it, so it is never served again.
          rejected(v.reason);
          log.warn({ update_id: v.updateId, why: v.reason }, "telegram: update of the wrong shape rejected and skipped");
        }
        offset = v.updateId + 1;
      }
    } finally {
      // Also on stop() part-way: what went through the sink is not replayed.
      await persist();
    }
    return offset !== before;
  }

  function rejected(reason: string): void {
    try {
      opts.onEventRejected?.(reason);
    } catch (err) {
      log.debug({ err: (err as Error).message }, "telegram: onEventRejected failed");
    }
  }

  async function supervise(s: HTTPStream, sink: MessageSink, signal: AbortSignal): Promise<void> {
    let failures = 0;
    let authFailures = 0;
    while (!signal.aborted) {
      let wait: number;
      try {
        me = parseMe(await readAnswer(await s.request(getMeRequest(api), { signal }), "getMe"));
        adoptOffset(me);
        failures = authFailures = 0;
        log.info({ bot: me.id, username: me.username }, "telegram: bot identified");
        setStatus("online");
        const end = await runPoller({
          stream: s,
          api,
          log,
          timeout: pollTimeout,
          backoff,
          signal,
          offset: () => offset,
          // Only stop() interrupts a delivery: an update the server handed over is never dropped.
          onUpdates: (updates) => handleUpdates(sink, updates, signal),
          warnings,
          onAnswer: () => setStatus("online"),
          onTrouble: (state, detail) => setStatus(state, detail),
        });
        if (end.reason === "stopped") break;
        wait = authWait(++authFailures);
        authFailed(end.error, wait);
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof ApiError && err.authFailure) {
          wait = authWait(++authFailures);
          authFailed(err, wait);
        } else {
          failures++;
          wait = Math.max(1, backoffDelay(failures, backoff));
          const message = redactText((err as Error).message, secrets);
          log.warn({ err: message, failures, retryIn: wait }, "telegram: getMe failed; retrying");
          setStatus(classifyFailure(err) === "before-send" ? "offline" : "retrying", message);
        }
      }
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
  }

  function authWait(n: number): number {
    return authRetryDelay(n, AUTH_RETRY_MS, MAX_AUTH_RETRY_MS);
  }

  function authFailed(err: ApiError, wait: number): void {
    const detail = `the Bot API refused the token of network "${opts.id}" (${err.code} ${err.description}); check it. Next try in ${Math.round(wait / 1000)} s`;
    log.error({ code: err.code, retryIn: wait }, `telegram: ${detail}`);
    setStatus("auth-failed", detail);
  }

  /** The configured group a call goes to; throws the fatal SendError of a bad one. */
  function sendable(group: string): GroupTarget {
    const bad = invalid.get(group);
    if (bad !== undefined) throw new SendError(bad, "fatal");
    const target = groups.get(group);
    if (!target) throw new SendError(`telegram: "${group}" is not a configured group`, "fatal");
    return target;
  }

  /** The stream, when a call can go out now; a retry SendError otherwise. */
  function online(): HTTPStream {
    const now = status.get();
    if (now.state === "auth-failed") throw new SendError(`telegram: ${now.detail ?? "token refused"}`, "retry", { retryAfterMs: AUTH_RETRY_MS });
    if (!stream || !me || main.signal.aborted) throw new SendError("telegram is not online", "retry", { retryAfterMs: 5_000 });
    return stream;
  }

  return {
    id: opts.id,
    type: "telegram",
    maxMessageLength: TELEGRAM_MAX_MESSAGE_LENGTH,
    evidence: { echo: false, history: false },

    async start(sink) {
      if (running) throw new Error("telegram already started");
      setStatus("starting");
      await loadSaved();
      stream = new HTTPStream({ logger: log, retry: opts.retry, chainBackoff: backoff, secrets, onResponse: opts.onResponse });
      running = supervise(stream, sink, main.signal);
    },

    async stop() {
      main.abort();
      await running;
      await persist();
      await stream?.close();
      setStatus("stopped");
    },

    async send(group, text, sendOpts) {
      const target = sendable(group);
      if (text.length > TELEGRAM_MAX_MESSAGE_LENGTH) {
        throw new SendError(`send to ${group}: text of ${text.length} characters is over the limit of ${TELEGRAM_MAX_MESSAGE_LENGTH}`, "fatal");
      }
      const s = online();
      // A reply to a message of another chat (or one the id does not name) goes as a plain message.
      const reply = sendOpts?.replyTo === undefined ? undefined : readMessageRef(groups, target, sendOpts.replyTo);
      // allow_sending_without_reply: a replied-to message deleted meanwhile does not refuse the send.
      const extra = reply === undefined ? {} : { reply_parameters: { message_id: reply.messageId, allow_sending_without_reply: true } };
      // The request goes out in this tick (the stream is open): a stop() from here on cuts a send
      // that may have arrived, so it is "unknown" like any other cut (settled by the relay).
      if (sendOpts?.media) return await sendMedia({ stream: s, api, timeout: opts.sendTimeoutMs, signal: main.signal }, target, text, sendOpts.media, extra);
      return await sendMessage(s, api, target, text, { timeout: opts.sendTimeoutMs, signal: main.signal, extra });
    },

    // No delete update reaches a bot in a group (the Bot API has none): deletions go one way only.
    features: { reply: true, edit: true, retract: true, media: true, mention: false },

    async edit(group, id, text) {
      const target = sendable(group);
      if (text.length > TELEGRAM_MAX_MESSAGE_LENGTH) throw new SendError(`edit in ${group}: text of ${text.length} characters is over the limit of ${TELEGRAM_MAX_MESSAGE_LENGTH}`, "fatal");
      const ref = readMessageRef(groups, target, id);
      if (!ref) throw new SendError(`edit in ${group}: "${id}" is not a message of this group`, "fatal");
      await editText({ stream: online(), api, timeout: opts.sendTimeoutMs, signal: main.signal }, target, ref, text);
      return { id };
    },

    async retract(group, id) {
      const target = sendable(group);
      const ref = readMessageRef(groups, target, id);
      if (!ref) throw new SendError(`retract in ${group}: "${id}" is not a message of this group`, "fatal");
      await deleteMessage({ stream: online(), api, timeout: opts.sendTimeoutMs, signal: main.signal }, target, ref, warnings);
    },

    async fetchMedia(media, maxBytes) {
      return await fetchMedia({ stream: online(), api, signal: main.signal }, media, maxBytes);
    },

    async groups() {
      return groups.keys();
    },

    status: () => status.get(),

    onStatus: (listener) => status.onStatus(listener),
  };
}
