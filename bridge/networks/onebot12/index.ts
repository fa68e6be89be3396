// The OneBot 12 network adapter: one HTTP endpoint (POST {url}) for every action, events by the
// get_latest_events long poll, our bot learned from get_status, sends by send_message.
import { z } from "zod";
import { HTTPStream } from "../../../src/index.ts";
import type { Onebot12NetworkConfig } from "../../config/types.ts";
import type { MessageSink, NetworkAdapter } from "../../network.ts";
import { SendError } from "../../network.ts";
import type { NetworkOptions } from "../shared/options.ts";
import { serverDone } from "../shared/request-sent.ts";
import { NetworkSkeleton } from "../shared/skeleton.ts";
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

export interface Onebot12Options extends NetworkOptions {
  config: Onebot12NetworkConfig;
  pollTimeoutSeconds?: number; // long-poll hold asked of the server; default 30
  /** How long a send_message waits for its answer (default SEND_TIMEOUT_MS); past it the send is "unknown". */
  sendTimeoutMs?: number;
}

/**
 * Longest text one send() takes. OneBot 12 itself sets no limit; its implementations front
 * platforms whose limits differ (QQ around 4500 characters, Discord 2000), so the smallest.
 */
export const ONEBOT12_MAX_MESSAGE_LENGTH = 2_000;
export const DEFAULT_POLL_TIMEOUT_SECONDS = 30;
/**
 * For this long after a send, polls hold only briefly (poller.ts SHORT_HOLD_SECONDS): an
 * unconfirmed send is settled as soon as a poll sent after it came back without its echo
 * (NetworkAdapter.echoesThrough), and a long hold sent just before it would delay that.
 */
export const SHORT_HOLD_AFTER_SEND_MS = 30_000;
/** Lookups that only improve a message (names, image URLs) get one try, briefly: delivery never waits long on them. */
const LOOKUP_TIMEOUT = 5_000;
/**
 * How long a send waits for its answer: an implementation may hold a send in its own rate-limit
 * queue for seconds (NapCat-style send queues); past this it is "unknown", so it is generous.
 */
export const SEND_TIMEOUT_MS = 60_000;

export function createOnebot12(opts: Onebot12Options): NetworkAdapter {
  const target: ActionTarget = { url: opts.config.url, ...(opts.config.access_token ? { accessToken: opts.config.access_token } : {}) };
  // A refused token needs the operator: the default auth waits (the long end of the backoff, doubling, ≤ 10×).
  const net = new NetworkSkeleton({ id: opts.id, type: "onebot12", logger: opts.logger, retry: opts.retry, onEventRejected: opts.onEventRejected });
  const { log, warnings, backoff } = net;
  // Whole seconds ≥ 1: 0 means "do not wait" in the spec and "wait forever" in go-cqhttp.
  const timeoutSeconds = Math.max(1, Math.round(opts.pollTimeoutSeconds ?? DEFAULT_POLL_TIMEOUT_SECONDS));
  const configured = new Set(opts.groups);
  const pendingFile = pendingPath(opts.stateDir, opts.id);

  let stream: HTTPStream | null = null;
  let self: BotSelf | null = null; // our bot (its user_id marks our own messages)
  let sendSelf: BotSelf | null = null; // sent with every non-meta action once known
  let pollAbort: AbortController | null = null;
  /** Relayable events taken from the server and not yet accepted by the sink, oldest first. */
  let pending: unknown[] = [];
  /** When the last poll whose answer held everything the server had (and is delivered) was sent. */
  let echoesThrough: number | undefined;
  /** When the last send_message went out (polls hold briefly for a while after it). */
  let lastSendAt = -Infinity;

  const recent = new RecentEvents();

  function call(action: string, params: Record<string, unknown>, o: ActionOptions & { signal?: AbortSignal } = {}): Promise<unknown> {
    if (!stream) throw new Error("onebot12 is not started");
    return callAction(stream, target, action, params, { self: sendSelf, signal: net.signal, ...o });
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

  /**
   * Delivers `pending` in order; the saved list is removed once the sink accepted them all. It is
   * not rewritten after each event (a synced write per event made inbound, and so the own echoes
   * that confirm sends, lag seconds behind under load): after a crash the whole list is delivered
   * again and the outbox drops what it already took (ids are stable). A stop keeps exactly the
   * events not delivered.
   */
  async function drainPending(sink: MessageSink): Promise<void> {
    const saved = pending.length;
    const queue = pending.map((raw) => ({ raw, verdict: classifyEvent(raw, configured, self) }));
    // Our own echoes first: never relayed, so their place among the members' messages shows
    // nowhere, and each confirms a send whose queue waits for it (behind a long batch it would
    // come after the relay's echo window and the send would be made again).
    const own = (c: (typeof queue)[number]): boolean => c.verdict.kind === "relay" && c.verdict.event.own;
    const ordered = [...queue.filter(own), ...queue.filter((c) => !own(c))];
    pending = ordered.map((c) => c.raw);
    try {
      for (const { verdict } of ordered) {
        if (verdict.kind === "relay") await net.deliver(sink, await inboundOf(verdict.event, lookups));
        else if (verdict.kind === "delete") await net.deliver(sink, retractOf(verdict.event));
        pending = pending.slice(1);
      }
    } finally {
      if (pending.length !== saved) await savePending(pendingFile, pending);
    }
  }

  /** Takes one answer's events; resolves with whether any was usable (not all rejected or repeats). */
  async function onEvents(sink: MessageSink, events: unknown[]): Promise<boolean> {
    let usable = false;
    const relay = events.filter((e) => {
      const fresh = recent.fresh(e);
      const v = classifyEvent(e, configured, self);
      if (v.kind === "reject") {
        net.rejected(v.reason, { event: v.id }, "event of the wrong shape");
        return false;
      }
      usable ||= fresh;
      if (v.kind === "skip") log.debug({ reason: v.reason }, "onebot12: event skipped");
      return v.kind === "relay" || v.kind === "delete";
    });
    if (relay.length > 0) {
      pending = pending.concat(relay);
      await savePending(pendingFile, pending); // before the sink: the server no longer has them
      await drainPending(sink);
    }
    return usable;
  }

  async function learnSelf(signal: AbortSignal): Promise<void> {
    const id = await identify(await call("get_status", {}, { retrySafe: true, signal }), () => call("get_self_info", {}, { retrySafe: true, signal }));
    self = id.self;
    sendSelf = id.self.platform === "" ? null : id.self;
    if (id.bots > 1) log.warn({ self: id.self, bots: id.bots }, "onebot12: several bots share this connection; relaying for the first online one");
    else log.info({ self: id.self }, "onebot12: bot identified");
  }

  /** Learns our bot, delivers what the last run left, then long-polls until the poll ends. */
  async function session(sink: MessageSink): Promise<number> {
    const signal = net.signal;
    await learnSelf(signal);
    net.failures.ok();
    await drainPending(sink); // events a stop or crash left undelivered go first
    // Online (sends may go) only now: the own echoes among those events confirm sends the crash
    // left unconfirmed, and the relay's wait for an echo starts once we are online.
    net.setStatus("online");
    pollAbort = new AbortController();
    const end = await runPoller({
      stream: stream!,
      target,
      log,
      timeoutSeconds,
      backoff,
      signal: AbortSignal.any([signal, pollAbort.signal]),
      // Only stop() interrupts a delivery: events the server handed over are never dropped.
      onEvents: (events) => onEvents(sink, events),
      onComplete: (sentAt) => (echoesThrough = sentAt),
      shortHold: () => performance.now() - lastSendAt < SHORT_HOLD_AFTER_SEND_MS,
      onAnswer: () => net.setStatus("online"),
      onTrouble: (detail) => net.setStatus("retrying", detail),
      warnings,
    });
    if (end.reason === "auth") return net.failures.authFailed(end.detail);
    if (end.reason === "unsupported") {
      net.setStatus("offline", end.detail);
      return backoff.max;
    }
    return 0; // stop(), or a self error asked for a new identity
  }

  return {
    ...net.base,
    maxMessageLength: ONEBOT12_MAX_MESSAGE_LENGTH,
    // Implementations report the bot's own messages as message events; they come back with own: true.
    evidence: { echo: true, history: false },
    crashGap: "an answer of get_latest_events on its way at that moment (OneBot 12 has no acknowledgement and no history action)",
    echoesThrough: () => echoesThrough,

    async start(sink) {
      net.starting();
      const saved = await loadPending(pendingFile);
      if (saved.setAside) log.error({ keptAs: saved.setAside }, "onebot12: the file of undelivered events was unreadable; set aside");
      pending = saved.events;
      if (pending.length > 0) log.info({ events: pending.length }, "onebot12: delivering events left undelivered by the last run");
      stream = new HTTPStream({ logger: log, retry: opts.retry, chainBackoff: backoff, secrets: target.accessToken ? [target.accessToken] : [], onResponse: opts.onResponse });
      net.run(() =>
        net.supervise(
          () => session(sink),
          (err) => {
            const detail = safeMessage(err, target);
            if (err instanceof ActionError && err.failure.kind === "auth") return { auth: detail };
            return { state: err instanceof BotOfflineError ? "bot-offline" : "offline", detail, what: "reaching the bot" };
          },
        ),
      );
    },

    async stop() {
      await net.stop(async () => stream?.close());
    },

    features: ONEBOT12_FEATURES,

    async retract(group, id) {
      if (!configured.has(group)) throw new SendError(`onebot12: "${group}" is not a configured group`, "fatal");
      if (!stream || self === null || net.stopping) throw new SendError(`onebot12 is not online (${net.current().state})`, "retry", { retryAfterMs: 5_000 });
      await rich.retract(group, id);
    },

    async fetchMedia(media, maxBytes) {
      if (!stream) throw new SendError("onebot12 is not started", "retry", { retryAfterMs: 5_000 });
      return await rich.fetchMedia(stream, media, maxBytes, target.accessToken ? [target.accessToken] : [], net.signal);
    },

    async send(group, text, sendOpts = {}) {
      if (!configured.has(group)) throw new SendError(`onebot12: "${group}" is not a configured group`, "fatal");
      net.refuseTooLong(group, text, ONEBOT12_MAX_MESSAGE_LENGTH);
      // Once our bot is known, a send is tried even while polls fail: its own answer is the verdict.
      if (!stream || self === null || net.stopping) throw new SendError(`onebot12 is not online (${net.current().state})`, "retry", { retryAfterMs: 5_000 });
      const message = await rich.segments(group, text, sendOpts); // uploads first: a failure there sent nothing
      let data: unknown;
      try {
        // Never resent here: after the request left, only the server knows whether it was delivered.
        lastSendAt = performance.now();
        data = await call("send_message", { detail_type: "group", group_id: group, message }, { retry: false, timeout: opts.sendTimeoutMs ?? SEND_TIMEOUT_MS });
      } catch (err) {
        const detail = safeMessage(err, target);
        if (err instanceof ActionError) {
          const verdict = classifySendFailure(err.failure);
          if (isSelfError(err.retcode)) pollAbort?.abort(); // learn which bot we are again
          if (err.failure.kind === "auth") net.setStatus("auth-failed", detail);
          // An answer, however bad: the server is done with the request.
          throw new SendError(`send to ${group}: ${verdict.reason}`, verdict.kind, { cause: err, serverDone: true, ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }) });
        }
        throw new SendError(`send to ${group}: ${detail}`, classifySendTransportError(err), { cause: err, serverDone: serverDone(err) });
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
  };
}
