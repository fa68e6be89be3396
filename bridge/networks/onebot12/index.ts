// The OneBot 12 network adapter: one HTTP endpoint (POST {url}) for every action, events by the
// get_latest_events long poll, our bot learned from get_status, sends by send_message.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { z } from "zod";
import { backoffDelay, HTTPStream, type RetryOptions, type ResponseInfo } from "../../../src/index.ts";
import type { Onebot12NetworkConfig } from "../../config/types.ts";
import type { MessageSink, NetworkAdapter } from "../../network.ts";
import { SendError } from "../../network.ts";
import { authRetryDelay } from "../shared/auth-retry.ts";
import { deliverWithRetry } from "../shared/deliver.ts";
import { RepeatedWarning } from "../shared/repeated-warning.ts";
import { StatusHolder } from "../shared/status.ts";
import { ActionError, type ActionOptions, type ActionTarget, type BotSelf, callAction, safeMessage } from "./action.ts";
import { classifyEvent } from "./events.ts";
import { inboundOf, messageKey, retractOf, type InboundLookups } from "./inbound.ts";
import { BotOfflineError, identify } from "./identity.ts";
import { MemberNames, type MemberInfo } from "./members.ts";
import { loadPending, pendingPath, savePending } from "./pending.ts";
import { RecentEvents } from "./recent-events.ts";
import { runPoller } from "./poller.ts";
import { classifySendFailure, classifySendTransportError, isSelfError } from "./retcode.ts";
import { IdSchema } from "./schema.ts";
import { ONEBOT12_FEATURES, Onebot12Rich } from "./rich.ts";

const SentSchema = z.looseObject({ message_id: IdSchema });

export interface Onebot12Options {
  id: string; // network key in config
  config: Onebot12NetworkConfig;
  stateDir: string; // events taken from the server but not yet delivered (mode 0600)
  logger: Logger;
  groups: string[]; // the configured group ids this network relays
  retry?: Partial<RetryOptions>; // tests pass tiny delays
  /** Observes every answered HTTP request (run wires poll latency metrics to it). */
  onResponse?: (info: ResponseInfo) => void;
  pollTimeoutSeconds?: number; // long-poll hold asked of the server; default 30
  /** How long a send_message waits for its answer (default SEND_TIMEOUT_MS); past it the send is "unknown". */
  sendTimeoutMs?: number;
  /** Called once per event that could not be turned into a message (pollbridge_events_rejected_total). */
  onEventRejected?: (reason: string) => void;
}

/**
 * Longest text one send() takes. OneBot 12 itself sets no limit; its implementations front
 * platforms whose limits differ (QQ around 4500 characters, Discord 2000), so the smallest.
 */
export const ONEBOT12_MAX_MESSAGE_LENGTH = 2_000;
export const DEFAULT_POLL_TIMEOUT_SECONDS = 30;
/** Lookups that only improve a message (names, image URLs) get one try, briefly: delivery never waits long on them. */
const LOOKUP_TIMEOUT = 5_000;
/**
 * How long a send waits for its answer: an implementation may hold a send in its own rate-limit
 * queue for seconds (NapCat-style send queues); past this it is "unknown", so it is generous.
 */
export const SEND_TIMEOUT_MS = 60_000;

export function createOnebot12(opts: Onebot12Options): NetworkAdapter {
  const log = opts.logger.child({ network: opts.id });
  const target: ActionTarget = { url: opts.config.url, ...(opts.config.access_token ? { accessToken: opts.config.access_token } : {}) };
  const backoff = { min: opts.retry?.minTimeout ?? 1_000, max: opts.retry?.maxTimeout ?? 60_000 };
  // Whole seconds ≥ 1: 0 means "do not wait" in the spec and "wait forever" in go-cqhttp.
  const timeoutSeconds = Math.max(1, Math.round(opts.pollTimeoutSeconds ?? DEFAULT_POLL_TIMEOUT_SECONDS));
  const configured = new Set(opts.groups);
  const pendingFile = pendingPath(opts.stateDir, opts.id);

  let stream: HTTPStream | null = null;
  let self: BotSelf | null = null; // our bot (its user_id marks our own messages)
  let sendSelf: BotSelf | null = null; // sent with every non-meta action once known
  const main = new AbortController();
  let pollAbort: AbortController | null = null;
  let running: Promise<void> | null = null;
  /** Relayable events taken from the server and not yet accepted by the sink, oldest first. */
  let pending: unknown[] = [];

  const status = new StatusHolder({ log, network: "onebot12" });
  const warnings = new RepeatedWarning(log);
  const recent = new RecentEvents();
  const setStatus = (state: string, detail?: string): void => status.set(state, detail);

  function call(action: string, params: Record<string, unknown>, o: ActionOptions & { signal?: AbortSignal } = {}): Promise<unknown> {
    if (!stream) throw new Error("onebot12 is not started");
    return callAction(stream, target, action, params, { self: sendSelf, signal: main.signal, ...o });
  }

  /** A lookup that may fail: undefined then (logged), never thrown into a delivery. */
  async function lookup(action: string, params: Record<string, unknown>): Promise<unknown> {
    try {
      return await call(action, params, { retry: false, timeout: LOOKUP_TIMEOUT });
    } catch (err) {
      log.debug({ action, err: safeMessage(err, target) }, "onebot12: lookup failed; showing the id instead");
      return undefined;
    }
  }

  const names = new MemberNames(async (group_id, user_id) => ((await lookup("get_group_member_info", { group_id, user_id })) ?? null) as MemberInfo | null);

  async function fileUrl(file_id: string): Promise<string | undefined> {
    const data = (await lookup("get_file", { file_id, type: "url" })) as { url?: unknown } | undefined;
    return typeof data?.url === "string" ? data.url : undefined;
  }

  const lookups: InboundLookups = { memberName: (g, u) => names.get(g, u), fileUrl, selfId: () => self?.user_id };
  const rich = new Onebot12Rich((action, params, o) => call(action, params, o));

  /** Delivers `pending` in order; each one leaves the saved list only once the sink accepted it. */
  async function drainPending(sink: MessageSink, signal: AbortSignal): Promise<void> {
    while (pending.length > 0) {
      const verdict = classifyEvent(pending[0], configured, self);
      if (verdict.kind === "relay") {
        await deliverWithRetry(sink, await inboundOf(verdict.event, lookups), { backoff, log, network: "onebot12", signal });
      } else if (verdict.kind === "delete") {
        await deliverWithRetry(sink, retractOf(verdict.event), { backoff, log, network: "onebot12", signal });
      }
      pending = pending.slice(1);
      await savePending(pendingFile, pending);
    }
  }

  /** Takes one answer's events; resolves with whether any was usable (not all rejected or repeats). */
  async function onEvents(sink: MessageSink, events: unknown[], signal: AbortSignal): Promise<boolean> {
    let usable = false;
    const relay = events.filter((e) => {
      const fresh = recent.fresh(e);
      const v = classifyEvent(e, configured, self);
      if (v.kind === "reject") {
        rejected(v.id, v.reason);
        return false;
      }
      usable ||= fresh;
      if (v.kind === "skip") log.debug({ reason: v.reason }, "onebot12: event skipped");
      return v.kind === "relay" || v.kind === "delete";
    });
    if (relay.length > 0) {
      pending = pending.concat(relay);
      await savePending(pendingFile, pending); // before the sink: the server no longer has them
      await drainPending(sink, signal);
    }
    return usable;
  }

  /** An event that cannot be a message: logged with its id (a server repeating it is logged once a minute), counted, skipped. */
  function rejected(id: string | undefined, reason: string): void {
    warnings.warn(`event:${id ?? ""}:${reason}`, { event: id, why: reason }, "onebot12: event of the wrong shape rejected and skipped");
    try {
      opts.onEventRejected?.(reason);
    } catch (err) {
      log.debug({ err: (err as Error).message }, "onebot12: onEventRejected failed");
    }
  }

  async function learnSelf(signal: AbortSignal): Promise<void> {
    const id = await identify(await call("get_status", {}, { retrySafe: true, signal }), () => call("get_self_info", {}, { retrySafe: true, signal }));
    self = id.self;
    sendSelf = id.self.platform === "" ? null : id.self;
    if (id.bots > 1) log.warn({ self: id.self, bots: id.bots }, "onebot12: several bots share this connection; relaying for the first online one");
    else log.info({ self: id.self }, "onebot12: bot identified");
  }

  async function supervise(sink: MessageSink, signal: AbortSignal): Promise<void> {
    let failures = 0;
    let authFailures = 0;
    const wait = (ms: number) => sleep(ms, undefined, { signal }).catch(() => undefined);
    while (!signal.aborted) {
      try {
        await learnSelf(signal);
        failures = authFailures = 0;
        setStatus("online");
        await drainPending(sink, signal); // events a stop or crash left undelivered go first
        pollAbort = new AbortController();
        const end = await runPoller({
          stream: stream!,
          target,
          log,
          timeoutSeconds,
          backoff,
          signal: AbortSignal.any([signal, pollAbort.signal]),
          // Only stop() interrupts a delivery: events the server handed over are never dropped.
          onEvents: (events) => onEvents(sink, events, signal),
          onAnswer: () => setStatus("online"),
          onTrouble: (detail) => setStatus("retrying", detail),
          warnings,
        });
        if (signal.aborted) break;
        if (end.reason === "auth") {
          authFailures++;
          setStatus("auth-failed", end.detail);
          await wait(authDelay(authFailures));
        } else if (end.reason === "unsupported") {
          failures++;
          setStatus("offline", end.detail);
          await wait(backoff.max);
        } // "stopped" without stop(): a self error asked for a new identity
      } catch (err) {
        if (signal.aborted) break;
        const detail = safeMessage(err, target);
        if (err instanceof ActionError && err.failure.kind === "auth") {
          authFailures++;
          setStatus("auth-failed", detail);
          log.error({ err: detail }, "onebot12: the server refused the access_token; retrying slowly");
          await wait(authDelay(authFailures));
          continue;
        }
        failures++;
        const retryIn = Math.max(1, backoffDelay(failures, backoff));
        log.warn({ err: detail, failures, retryIn }, "onebot12: cannot reach the bot; retrying");
        setStatus(err instanceof BotOfflineError ? "bot-offline" : "offline", detail);
        await wait(retryIn);
      }
    }
  }

  /** A refused token needs the operator: retry slowly (the long end of the backoff, doubling, ≤ 10×). */
  function authDelay(n: number): number {
    return authRetryDelay(n, backoff.max, backoff.max * 10);
  }

  return {
    id: opts.id,
    type: "onebot12",
    maxMessageLength: ONEBOT12_MAX_MESSAGE_LENGTH,
    // Implementations report the bot's own messages as message events; they come back with own: true.
    evidence: { echo: true, history: false },

    async start(sink) {
      if (running) throw new Error("onebot12 already started");
      setStatus("starting");
      const saved = await loadPending(pendingFile);
      if (saved.setAside) log.error({ keptAs: saved.setAside }, "onebot12: the file of undelivered events was unreadable; set aside");
      pending = saved.events;
      if (pending.length > 0) log.info({ events: pending.length }, "onebot12: delivering events left undelivered by the last run");
      stream = new HTTPStream({ logger: log, retry: opts.retry, chainBackoff: backoff, secrets: target.accessToken ? [target.accessToken] : [], onResponse: opts.onResponse });
      running = supervise(sink, main.signal);
    },

    async stop() {
      main.abort();
      await running;
      await stream?.close();
      setStatus("stopped");
    },

    features: ONEBOT12_FEATURES,

    async retract(group, id) {
      if (!configured.has(group)) throw new SendError(`onebot12: "${group}" is not a configured group`, "fatal");
      if (!stream || self === null || main.signal.aborted) throw new SendError(`onebot12 is not online (${status.get().state})`, "retry", { retryAfterMs: 5_000 });
      await rich.retract(group, id);
    },

    async fetchMedia(media, maxBytes) {
      if (!stream) throw new Error("onebot12 is not started");
      return await rich.fetchMedia(stream, media, maxBytes, target.accessToken ? [target.accessToken] : [], main.signal);
    },

    async send(group, text, sendOpts = {}) {
      if (!configured.has(group)) throw new SendError(`onebot12: "${group}" is not a configured group`, "fatal");
      // Once our bot is known, a send is tried even while polls fail: its own answer is the verdict.
      if (!stream || self === null || main.signal.aborted) throw new SendError(`onebot12 is not online (${status.get().state})`, "retry", { retryAfterMs: 5_000 });
      const message = await rich.segments(group, text, sendOpts); // uploads first: a failure there sent nothing
      let data: unknown;
      try {
        // Never resent here: after the request left, only the server knows whether it was delivered.
        data = await call("send_message", { detail_type: "group", group_id: group, message }, { retry: false, timeout: opts.sendTimeoutMs ?? SEND_TIMEOUT_MS });
      } catch (err) {
        const detail = safeMessage(err, target);
        if (err instanceof ActionError) {
          const verdict = classifySendFailure(err.failure);
          if (isSelfError(err.retcode)) pollAbort?.abort(); // learn which bot we are again
          if (err.failure.kind === "auth") setStatus("auth-failed", detail);
          throw new SendError(`send to ${group}: ${verdict.reason}`, verdict.kind, { cause: err, ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }) });
        }
        throw new SendError(`send to ${group}: ${detail}`, classifySendTransportError(err), { cause: err });
      }
      // status ok means sent; without a readable message_id there is no id to give.
      const sent = SentSchema.safeParse(data);
      return { id: sent.success ? messageKey(group, sent.data.message_id) : "" };
    },

    async groups() {
      if (!stream) return [];
      try {
        const list = await call("get_group_list", {}, { retrySafe: true });
        return (Array.isArray(list) ? list : []).flatMap((g: { group_id?: unknown }) =>
          typeof g?.group_id === "string" ? [g.group_id] : typeof g?.group_id === "number" ? [String(g.group_id)] : [],
        );
      } catch (err) {
        log.warn({ err: safeMessage(err, target) }, "onebot12: get_group_list failed");
        return [];
      }
    },

    status: () => status.get(),

    onStatus: (listener) => status.onStatus(listener),
  };
}
