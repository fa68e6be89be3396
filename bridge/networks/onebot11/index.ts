// The OneBot 11 network adapter (NapCat, LLBot, Lagrange.OneBot, go-cqhttp): identity from
// get_login_info, the implementation from get_version_info, events by forward or reverse
// WebSocket, get_updates long poll, HTTP POST webhook or SSE; actions over HTTP or on the socket.
// Gaps (a lost socket, a restart) are filled from get_group_msg_history; our own sends coming
// back confirm deliveries. Group ids are numbers on the wire and strings in the config.
import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelay, HTTPStream, redactError, redactText, type ChainHandle } from "../../../src/index.ts";
import type { Onebot11NetworkConfig } from "../../config/types.ts";
import type { MessageSink, NetworkAdapter, SendResult } from "../../network.ts";
import { SendError } from "../../network.ts";
import type { NetworkOptions } from "../shared/options.ts";
import { NetworkSkeleton } from "../shared/skeleton.ts";
import { HttpActions, type Actions, type CallOptions } from "./actions.ts";
import { ActionError, ActionNotSentError, parseLoginInfo, type ApiTarget } from "./api.ts";
import { CATCH_UP_PAGES, CatchUp } from "./catch-up.ts";
import { HistoryUnavailableError, readBack, type HistoryEvent } from "./history.ts";
import { Inbound } from "./inbound.ts";
import { Intake } from "./intake.ts";
import { startLongPoll } from "./long-poll.ts";
import { Marks, marksPath } from "./marks.ts";
import { renderSegments, toSegments } from "./message.ts";
import { MemberNames } from "./names.ts";
import { PendingEvents, pendingPath } from "./pending.ts";
import { profileFromVersion, profileNamed, type Profile } from "./profile.ts";
import { ONEBOT11_FEATURES, Onebot11Rich } from "./rich.ts";
import { sendFailure, sendGroupMessage } from "./sender.ts";
import type { EventIntake, SourceContext } from "./source.ts";
import { startSse } from "./sse.ts";
import { startWebhook, type WebhookServer } from "./webhook.ts";
import { runForward } from "./ws-forward.ts";
import type { SocketLink } from "./ws-link.ts";
import { startReverse, type ReverseServer, type Role } from "./ws-reverse.ts";

/**
 * Longest text of one send. Mrs4s (go-cqhttp#744): "理论上单条消息最多能发5000字", but long group
 * messages trip QQ's risk control (go-cqhttp#170, #2324; "一般在2000字之内"): 2000 stays clear of both.
 */
export const ONEBOT11_MAX_MESSAGE_LENGTH = 2000;
/** Long-poll hold asked of the server by default (s). */
export const DEFAULT_POLL_TIMEOUT_SECONDS = 30;
/** After the first send, own echoes that have not come within this long are taken as switched off. */
export const DEFAULT_ECHO_CHECK_MS = 10_000;

export interface Onebot11Options extends NetworkOptions {
  config: Onebot11NetworkConfig;
  pollTimeoutSeconds?: number; // long-poll hold asked of the server; tests pass small values
  /** Socket silence limit before the first heartbeat (default 60 s); tests pass small values. */
  silenceMs?: number;
  /** How long after the first send an own echo must have come (default 10 s). */
  echoCheckMs?: number;
  /** How long a send waits for its answer (default 60 s: go-cqhttp's rate limiter queues). */
  sendTimeoutMs?: number;
}

/** Actions on whichever socket carries them now; with none, "not sent" (a plain retry). */
class SocketActions implements Actions {
  link: SocketLink | null = null;
  call(action: string, params: Record<string, unknown>, o?: CallOptions): Promise<unknown> {
    if (!this.link || this.link.isDown) return Promise.reject(new ActionNotSentError(action, "no open socket"));
    return this.link.call(action, params, o);
  }
}

export function createOnebot11(opts: Onebot11Options): NetworkAdapter {
  const cfg = opts.config;
  // Named by their paths in pollbridge.yaml, as `pollbridge check` names problems.
  if (cfg.events === "webhook" && !cfg.webhook?.listen) throw new Error(`networks.${opts.id}.webhook.listen is required when events is webhook`);
  // A blank secret (HOOK_SECRET set but empty) must never mean "no signature checked".
  if (cfg.events === "webhook" && cfg.webhook?.secret === "") throw new Error(`networks.${opts.id}.webhook.secret is empty: set it, or remove the key (allowed on loopback only)`);
  if (cfg.events === "ws" && !cfg.ws) throw new Error(`networks.${opts.id}.ws is required when events is ws`);
  if (cfg.events === "ws-reverse" && !cfg.ws_reverse?.listen) throw new Error(`networks.${opts.id}.ws_reverse.listen is required when events is ws-reverse`);
  const socketEvents = cfg.events === "ws" || cfg.events === "ws-reverse";
  if (!socketEvents && !cfg.api) throw new Error(`networks.${opts.id}.api is required when events is ${cfg.events}`);
  const target: ApiTarget = { api: cfg.api ?? "", token: cfg.access_token };
  const secrets = [cfg.access_token, cfg.webhook?.secret].filter((s): s is string => typeof s === "string" && s !== "");
  // A refused token does not fix itself: wait long (the longest wait a server may ask), growing to 10×.
  const authBase = opts.retry?.maxRetryAfter ?? 60_000;
  const net = new NetworkSkeleton({
    id: opts.id,
    type: "onebot11",
    logger: opts.logger,
    retry: opts.retry,
    auth: { base: authBase, cap: authBase * 10 },
    redact: (detail) => redactText(detail, secrets),
    onEventRejected: opts.onEventRejected,
  });
  const { log, warnings: warn, backoff } = net;
  const setStatus = (state: string, detail?: string): void => net.setStatus(state, detail);
  const authWait = (n: number): number => net.failures.authWait(n);
  const configured = new Set(opts.groups);
  const pending = new PendingEvents(pendingPath(opts.stateDir, opts.id));
  const marks = new Marks(marksPath(opts.stateDir, opts.id));
  const transport = cfg.events;

  let stream: HTTPStream | null = null;
  let actions: Actions | null = null;
  const socketActions = new SocketActions();
  let webhook: WebhookServer | null = null;
  let reverse: ReverseServer | null = null;
  let selfId: number | null = null;
  let profile: Profile = profileNamed("unknown");
  let inbound: Inbound | null = null;
  let intake: Intake | null = null;
  const catchUp = new CatchUp({
    groups: configured,
    marks,
    actions: () => actions,
    inbound: () => inbound,
    profile: () => profile,
    log,
    warn,
    signal: net.signal,
    backoff,
    secrets,
  });
  let echoSeen = false;
  /** When the last get_updates whose answer held everything the server had (and is delivered) was sent. */
  let echoesThrough: number | undefined;
  let echoCheck: NodeJS.Timeout | null = null;
  let names: MemberNames | null = null;
  const rich = new Onebot11Rich({
    actions: () => actions,
    stream: () => stream,
    openStream: () => openStream(),
    names: () => names,
    profile: () => profile,
    warn,
    signal: net.signal,
    secrets,
    authWait: authWait(1),
  });

  const onlineDetail = (): string => `${profile.label} over ${transport}`;

  function openStream(): HTTPStream {
    return new HTTPStream({ logger: log, retry: opts.retry, chainBackoff: backoff, secrets, onResponse: opts.onResponse });
  }

  /** get_login_info (our own id, to know our echoes) and get_version_info (the profile). */
  async function identifyOnce(a: Actions): Promise<void> {
    const info = parseLoginInfo(await a.call("get_login_info", {}, { retrySafe: true, signal: net.signal, timeoutMs: 15_000 }));
    selfId = info.userId;
    let found = profileNamed("unknown");
    try {
      found = profileFromVersion(await a.call("get_version_info", {}, { retrySafe: true, signal: net.signal, timeoutMs: 15_000 }));
    } catch (err) {
      if (net.signal.aborted) throw err;
      log.warn({ err: redactError(err, secrets).message }, "onebot11: get_version_info failed; implementation unknown");
    }
    if (found.label !== profile.label || found.name !== profile.name) log.info({ selfId, nickname: info.nickname, implementation: found.label, profile: found.name }, "onebot11: logged in");
    profile = found;
  }

  /** HTTP transports: get_login_info until it answers. */
  async function identifyOverHttp(): Promise<void> {
    await net.untilDone(
      () => identifyOnce(actions!),
      (err) =>
        err instanceof ActionError && err.kind === "auth"
          ? { auth: err.message }
          : { state: err instanceof ActionError ? "retrying" : "offline", detail: `get_login_info: ${String(redactError(err, secrets).message)}`, what: "get_login_info" },
    );
  }

  /** A socket (re)opened: identify, catch up, then let live events through. */
  function connected(): void {
    intake?.hold();
    void catchUp.queue(async () => {
      for (let attempt = 1; !net.signal.aborted; attempt++) {
        try {
          await identifyOnce(actions!);
          break;
        } catch (err) {
          if (net.signal.aborted) return;
          if (err instanceof ActionError && err.kind === "auth") setStatus("auth-failed", err.message);
          const wait = backoffDelay(attempt, backoff) || 1;
          warn.warn("identify", { err: redactError(err, secrets).message, retryIn: wait }, "onebot11: get_login_info failed on the new socket");
          if (!eventLink || eventLink.isDown) return intake?.release();
          await sleep(wait, undefined, { signal: net.signal }).catch(() => undefined);
        }
      }
      await catchUp.run();
      intake?.release();
      if (eventLink && !eventLink.isDown) setStatus("online", onlineDetail());
    });
  }

  let eventLink: SocketLink | null = null;
  function linkChanged(role: Role, link: SocketLink | null, why?: string): void {
    if (role !== "event" && !cfg.api) socketActions.link = link ?? (socketActions.link?.isDown ? null : socketActions.link);
    if (role !== "api") eventLink = link;
    if (link === null) {
      if (!eventLink || eventLink.isDown) setStatus("reconnecting", why ? `no socket: ${why}` : "no socket");
      return;
    }
    const apiReady = cfg.api !== undefined || (socketActions.link !== null && !socketActions.link.isDown);
    if (eventLink && !eventLink.isDown && apiReady) connected();
  }

  function onSocketEvent(event: Record<string, unknown>): void {
    intake?.event(event).catch(() => undefined); // rejects only on stop
  }

  /** Events the previous run took from get_updates and never delivered: first in line. */
  async function deliverLeftovers(): Promise<void> {
    const { events, setAside } = await pending.load();
    if (setAside !== undefined) log.error({ keptAs: setAside }, "onebot11: pending events file unreadable; set aside");
    if (events.length > 0) log.info({ count: events.length }, "onebot11: delivering events kept from the previous run");
    for (const event of events) {
      await inbound!.handle(event);
      await pending.remove(event);
    }
  }

  async function superviseHttp(ctx: SourceContext): Promise<void> {
    await identifyOverHttp();
    if (net.signal.aborted) return;
    intake!.hold();
    await catchUp.queue(() => catchUp.run());
    intake!.release();
    setStatus("online", onlineDetail()); // the server answered with our token accepted
    if (cfg.events === "webhook") return;
    try {
      await deliverLeftovers();
    } catch (err) {
      if (net.signal.aborted) return;
      throw err;
    }
    const chain: ChainHandle = cfg.events === "sse" ? startSse(ctx) : startLongPoll(ctx, pending);
    await chain.done.catch((err: unknown) => {
      if (!net.signal.aborted) log.error({ err: redactError(err, secrets) }, "onebot11: event chain ended");
    });
  }

  function onOwn(): void {
    if (!echoSeen) log.info("onebot11: own messages are reported: they confirm deliveries");
    echoSeen = true;
  }

  /** After the first send: whether its echo came; if none did, say which setting turns them on. */
  function checkEcho(): void {
    if (echoSeen || echoCheck !== null || net.signal.aborted) return;
    echoCheck = setTimeout(() => {
      if (echoSeen || net.signal.aborted) return;
      log.warn({ setting: profile.selfMessageSetting }, "onebot11: our own sends are not reported back, so a send whose answer was lost is settled by history or resent; turn on the implementation's own-message report");
    }, opts.echoCheckMs ?? DEFAULT_ECHO_CHECK_MS);
    echoCheck.unref();
  }

  function ownText(ev: HistoryEvent): string {
    try {
      // Names as the send had them: an `at` we sent reads back as the "@Name" it came from.
      return renderSegments(toSegments(ev.message), (qq) => names?.cached(Number(ev.group_id), Number(qq))).text;
    } catch {
      return typeof ev.raw_message === "string" ? ev.raw_message : "";
    }
  }

  return {
    ...net.base,
    maxMessageLength: ONEBOT11_MAX_MESSAGE_LENGTH,
    get evidence() {
      return { echo: echoSeen, history: catchUp.available };
    },
    echoesThrough: () => echoesThrough,

    async start(sink: MessageSink) {
      net.starting();
      const loaded = await marks.load();
      if (loaded.setAside !== undefined) log.error({ keptAs: loaded.setAside }, "onebot11: catch-up marks file unreadable; set aside");
      const s = cfg.api ? openStream() : null;
      stream = s;
      actions = s ? new HttpActions(s, target) : socketActions;
      inbound = new Inbound({
        groups: configured,
        selfId: () => selfId,
        names: (names = new MemberNames(actions, log)),
        sink,
        log,
        backoff,
        signal: net.signal,
        onOwn,
        onRejected: opts.onEventRejected,
        onDelivered: (msg, ev) => catchUp.delivered(msg, ev),
        groupUploads: () => profile.name === "go-cqhttp" || profile.name === "lagrange",
      });
      intake = new Intake(inbound);
      const live = intake;
      const liveInbound: EventIntake = { handle: (e: unknown) => live.event(e), relevant: (e: unknown) => inbound!.relevant(e) };
      try {
        if (cfg.events === "webhook") webhook = await startWebhook({ ...cfg.webhook!, inbound: liveInbound, log, signal: net.signal });
        if (cfg.events === "ws-reverse") {
          reverse = await startReverse({ ...cfg.ws_reverse!, token: cfg.access_token, log, warn, silenceMs: opts.silenceMs, onEvent: onSocketEvent, onLink: linkChanged });
        }
      } catch (err) {
        await s?.close();
        stream = null;
        setStatus("stopped", (err as Error).message);
        throw err;
      }
      if (cfg.events === "ws-reverse") {
        setStatus("reconnecting", `waiting for the implementation to connect to ${reverse!.url}`);
        return;
      }
      if (cfg.events === "ws") {
        net.run(() =>
          runForward({
            url: cfg.ws!,
            token: cfg.access_token,
            log,
            warn,
            signal: net.signal,
            failures: net.failures,
            silenceMs: opts.silenceMs,
            onEvent: onSocketEvent,
            onLink: (link, why) => linkChanged("universal", link, why),
          }),
        );
        return;
      }
      const ctx: SourceContext = {
        stream: s!,
        target,
        log,
        signal: net.signal,
        inbound: liveInbound,
        backoff,
        authWait,
        newFailures: () => net.newFailures(),
        pollTimeoutSeconds: opts.pollTimeoutSeconds ?? DEFAULT_POLL_TIMEOUT_SECONDS,
        onComplete: (sentAt) => (echoesThrough = sentAt),
        setStatus,
        catchUp: () => catchUp.queue(() => catchUp.run()),
      };
      net.run(() => superviseHttp(ctx));
    },

    async stop() {
      if (echoCheck) clearTimeout(echoCheck);
      catchUp.stop();
      await net.stop(async () => {
        await catchUp.idle();
        await reverse?.close();
        await webhook?.close();
        await stream?.close();
        await rich.close();
        await marks.flush().catch(() => undefined);
      });
    },

    features: ONEBOT11_FEATURES,

    async retract(group, id) {
      if (!configured.has(group)) throw new SendError(`onebot11: "${group}" is not a configured group`, "fatal");
      await rich.retract(group, id);
    },

    fetchMedia: (media, maxBytes) => rich.fetchMedia(media, maxBytes),

    async send(group, text, sendOpts = {}): Promise<SendResult> {
      if (!configured.has(group)) throw new SendError(`onebot11: "${group}" is not a configured group`, "fatal");
      const groupId = Number(group);
      if (!/^\d+$/.test(group) || !Number.isSafeInteger(groupId)) throw new SendError(`onebot11: group "${group}" is not a numeric group id`, "fatal");
      net.refuseTooLong(group, text, ONEBOT11_MAX_MESSAGE_LENGTH);
      if (!actions || selfId === null || net.signal.aborted) throw new SendError("onebot11 is not online", "retry", { retryAfterMs: 5_000 });
      const message = await rich.segments(group, text, sendOpts); // a bad replyTo is fatal before anything leaves
      try {
        const id = await sendGroupMessage(actions, groupId, message, net.signal, opts.sendTimeoutMs);
        if (cfg.events === "webhook") setStatus("online", onlineDetail());
        checkEcho();
        return { id: id === "" ? "" : Inbound.key(group, id) };
      } catch (err) {
        const e = sendFailure(err, group, authWait(1), profile);
        if (err instanceof ActionError && err.kind === "auth") setStatus("auth-failed", err.message);
        log.warn({ group, kind: e.kind, profile: profile.name, err: redactError(err, secrets).message }, "onebot11: send failed");
        throw e;
      }
    },

    async findSent(group, text, since) {
      if (!actions || selfId === null) throw new Error("onebot11 is not online");
      const groupId = Number(group);
      const sinceSec = Math.floor(since.getTime() / 1000) - 1; // times are whole seconds, clocks differ a little
      try {
        // Back to the send's time, however busy the group was meanwhile (a few pages missed a send
        // made before a kill -9 and restart, and it was sent again: a duplicate).
        const { messages } = await readBack(actions, profile, groupId, (m) => typeof m.time === "number" && m.time < sinceSec, { maxPages: CATCH_UP_PAGES, signal: net.signal });
        const mine = messages.find((m) => (m.post_type === "message_sent" || Number(m.user_id) === selfId) && ownText(m) === text);
        return mine === undefined ? null : { id: Inbound.key(group, mine.message_id) };
      } catch (err) {
        if (err instanceof HistoryUnavailableError) catchUp.unavailable();
        throw err;
      }
    },

    async groups() {
      let a = actions;
      let temp: HTTPStream | null = null;
      if (!a) {
        if (!cfg.api) return [];
        temp = openStream();
        a = new HttpActions(temp, target);
      }
      try {
        const data = await a.call("get_group_list", {}, { retrySafe: true, signal: net.signal });
        return Array.isArray(data) ? data.flatMap((g: { group_id?: unknown }) => (typeof g?.group_id === "number" ? [String(g.group_id)] : [])) : [];
      } finally {
        await temp?.close();
      }
    },
  };
}
