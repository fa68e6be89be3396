// The Telegram Bot API network adapter: getMe for identity, a getUpdates long-poll chain with a
// persisted offset, sendMessage to chats and forum topics.
import { classifyFailure, HTTPStream, redactText } from "../../../src/index.ts";
import type { TelegramNetworkConfig } from "../../config/types.ts";
import type { MessageSink, NetworkAdapter } from "../../network.ts";
import { SendError } from "../../network.ts";
import type { NetworkOptions } from "../shared/options.ts";
import { NetworkSkeleton } from "../shared/skeleton.ts";
import { setAside } from "../shared/state-file.ts";
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

export interface TelegramOptions extends NetworkOptions {
  config: TelegramNetworkConfig;
  pollTimeoutSeconds?: number;
  /** How long a sendMessage waits for its answer (default SEND_TIMEOUT_MS); past it the send is "unknown". */
  sendTimeoutMs?: number;
}

export function createTelegram(opts: TelegramOptions): NetworkAdapter {
  const api = botApi(opts.config.token, opts.config.api);
  const secrets = [api.token];
  const net = new NetworkSkeleton({
    id: opts.id,
    type: "telegram",
    logger: opts.logger,
    retry: opts.retry,
    auth: { base: AUTH_RETRY_MS, cap: MAX_AUTH_RETRY_MS },
    redact: (detail) => redactText(detail, secrets),
    onEventRejected: opts.onEventRejected,
  });
  const { log, warnings, backoff } = net;
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
          net.rejected(`update without a usable update_id (${v.reason})`, {}, "update");
          continue;
        }
        if (offset !== undefined && v.updateId < offset) continue; // already through the sink
        if (v.kind === "message") await net.deliver(sink, v.message);
        else if (v.kind === "skip") log.debug({ update_id: v.updateId, why: v.reason }, "telegram: update skipped");
        else net.rejected(v.reason, { update_id: v.updateId }, "update"); // the offset moves past it: never served again
        offset = v.updateId + 1;
      }
    } finally {
      // Also on stop() part-way: what went through the sink is not replayed.
      await persist();
    }
    return offset !== before;
  }

  /** getMe, then the getUpdates chain until the token is refused (or stop()). */
  async function session(s: HTTPStream, sink: MessageSink): Promise<number> {
    const signal = net.signal;
    me = parseMe(await readAnswer(await s.request(getMeRequest(api), { signal }), "getMe"));
    adoptOffset(me);
    net.failures.ok();
    log.info({ bot: me.id, username: me.username }, "telegram: bot identified");
    net.setStatus("online");
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
      onAnswer: () => net.setStatus("online"),
      onTrouble: (state, detail) => net.setStatus(state, detail),
    });
    return end.reason === "stopped" ? 0 : net.failures.authFailed(tokenRefused(end.error));
  }

  function tokenRefused(err: ApiError): (retryIn: number) => string {
    return (wait) => `the Bot API refused the token of network "${opts.id}" (${err.code} ${err.description}); check it. Next try in ${Math.round(wait / 1000)} s`;
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
    const now = net.current();
    if (now.state === "auth-failed") throw new SendError(`telegram: ${now.detail ?? "token refused"}`, "retry", { retryAfterMs: AUTH_RETRY_MS });
    if (!stream || !me || net.stopping) throw new SendError("telegram is not online", "retry", { retryAfterMs: 5_000 });
    return stream;
  }

  return {
    ...net.base,
    maxMessageLength: TELEGRAM_MAX_MESSAGE_LENGTH,
    evidence: { echo: false, history: false },

    async start(sink) {
      net.starting();
      await loadSaved();
      const s = new HTTPStream({ logger: log, retry: opts.retry, chainBackoff: backoff, secrets, onResponse: opts.onResponse });
      stream = s;
      net.run(() =>
        net.supervise(
          () => session(s, sink),
          (err) =>
            err instanceof ApiError && err.authFailure
              ? { auth: tokenRefused(err) }
              : { state: classifyFailure(err) === "before-send" ? "offline" : "retrying", detail: (err as Error).message, what: "getMe" },
        ),
      );
    },

    async stop() {
      await net.stop(async () => {
        await persist();
        await stream?.close();
      });
    },

    async send(group, text, sendOpts) {
      const target = sendable(group);
      net.refuseTooLong(group, text, TELEGRAM_MAX_MESSAGE_LENGTH);
      const s = online();
      // A reply to a message of another chat (or one the id does not name) goes as a plain message.
      const reply = sendOpts?.replyTo === undefined ? undefined : readMessageRef(groups, target, sendOpts.replyTo);
      // allow_sending_without_reply: a replied-to message deleted meanwhile does not refuse the send.
      const extra = reply === undefined ? {} : { reply_parameters: { message_id: reply.messageId, allow_sending_without_reply: true } };
      // The request goes out in this tick (the stream is open): a stop() from here on cuts a send
      // that may have arrived, so it is "unknown" like any other cut (settled by the relay).
      if (sendOpts?.media) return await sendMedia({ stream: s, api, timeout: opts.sendTimeoutMs, signal: net.signal }, target, text, sendOpts.media, extra);
      return await sendMessage(s, api, target, text, { timeout: opts.sendTimeoutMs, signal: net.signal, extra });
    },

    // No delete update reaches a bot in a group (the Bot API has none): deletions go one way only.
    features: { reply: true, edit: true, retract: true, media: true, mention: false },

    async edit(group, id, text) {
      const target = sendable(group);
      if (text.length > TELEGRAM_MAX_MESSAGE_LENGTH) throw new SendError(`edit in ${group}: text of ${text.length} characters is over the limit of ${TELEGRAM_MAX_MESSAGE_LENGTH}`, "fatal");
      const ref = readMessageRef(groups, target, id);
      if (!ref) throw new SendError(`edit in ${group}: "${id}" is not a message of this group`, "fatal");
      await editText({ stream: online(), api, timeout: opts.sendTimeoutMs, signal: net.signal }, target, ref, text);
      return { id };
    },

    async retract(group, id) {
      const target = sendable(group);
      const ref = readMessageRef(groups, target, id);
      if (!ref) throw new SendError(`retract in ${group}: "${id}" is not a message of this group`, "fatal");
      await deleteMessage({ stream: online(), api, timeout: opts.sendTimeoutMs, signal: net.signal }, target, ref, warnings);
    },

    async fetchMedia(media, maxBytes) {
      return await fetchMedia({ stream: online(), api, signal: net.signal }, media, maxBytes);
    },

    async groups() {
      return groups.keys();
    },
  };
}
