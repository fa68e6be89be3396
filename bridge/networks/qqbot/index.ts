// The official QQ bot API as a network (protocols.md §6): an access token kept fresh by an
// HTTPStream chain, events over the gateway WebSocket or the signed webhook, and sends to guild
// channels ("channel:<id>") and groups ("group:<openid>") within the platform's reply windows and
// proactive quota. A group with no window open is not ready(): its messages wait in the outbox.
import type { Dispatcher } from "undici";
import { HTTPStream, redactText } from "../../../src/index.ts";
import type { Listener } from "../../http/listener.ts";
import type { QqbotNetworkConfig } from "../../config/types.ts";
import type { InboundMessage, MessageSink, NetworkAdapter } from "../../network.ts";
import { SendError } from "../../network.ts";
import type { NetworkOptions } from "../shared/options.ts";
import { NetworkSkeleton } from "../shared/skeleton.ts";
import { meRequest, qqbotApi } from "./api.ts";
import { callApi } from "./client.ts";
import { readEvent } from "./events.ts";
import { INTENT, runGateway } from "./gateway.ts";
import { type SendTarget, type Unsettled } from "./send.ts";
import { fetchAttachment, recall, sendRich } from "./rich-send.ts";
import { webhookKeys } from "./sign.ts";
import { AccessToken } from "./token.ts";
import { startWebhook } from "./webhook.ts";
import { loadWindows, SnapshotWriter, windowsPath } from "./window-store.ts";
import { ReplyWindows } from "./windows.ts";

/** No documented limit for one message's text was found; long texts are split by the relay at this. */
export const QQBOT_MAX_MESSAGE_LENGTH = 2000;
const DEFAULT_SEND_TIMEOUT_MS = 15_000;
/** Message ids remembered to drop a second delivery (both intents, or the platform's own repeats). */
const MAX_SEEN = 5_000;

export interface QqbotOptions extends NetworkOptions {
  config: QqbotNetworkConfig;
  /** The clock reply windows and quotas are counted on (tests move it). */
  now?: () => number;
  sendTimeoutMs?: number;
  /** Proactive messages a channel takes per day (the platform's default 20; a guild admin may set others). */
  quotaPerDay?: number;
  /** The dispatcher gateway sockets are opened with. */
  dispatcher?: Dispatcher;
  /** From opening a gateway socket to READY/RESUMED (default 30 s). */
  establishTimeoutMs?: number;
}

/** The send target a configured group key names, or why it names none. */
export function parseTarget(key: string): SendTarget | string {
  const m = /^(channel|group):([A-Za-z0-9_-]+)$/.exec(key.trim());
  if (!m) return `"${key}" is not a QQ bot group: write "channel:<channel_id>" (a guild text channel) or "group:<group_openid>"`;
  return { kind: m[1] as "channel" | "group", id: m[2]!, key };
}

export function createQqbot(opts: QqbotOptions): NetworkAdapter {
  const cfg = opts.config;
  let token: AccessToken | null = null;
  const scrub = (text: string): string => redactText(text, [cfg.secret, ...(token?.seen ?? [])]);
  // A refused intent or a banned bot needs the operator: a minute, doubling up to half an hour.
  const net = new NetworkSkeleton({ id: opts.id, type: "qqbot", logger: opts.logger, retry: opts.retry, auth: { base: 60_000, cap: 30 * 60_000 }, redact: scrub, onEventRejected: opts.onEventRejected });
  const { log, backoff } = net;
  const api = qqbotApi(cfg.app_id, cfg.api, cfg.token_url);
  const now = opts.now ?? Date.now;
  const targets = new Map<string, SendTarget>();
  const invalid = new Map<string, string>();
  for (const g of opts.groups) {
    const t = parseTarget(g);
    if (typeof t === "string") {
      invalid.set(g, t);
      log.error({ group: g }, `qqbot: ${t}; it is not relayed`);
    } else targets.set(g, t);
  }
  const keys = new Set(targets.keys());
  const hasChannels = [...targets.values()].some((t) => t.kind === "channel");
  const hasGroups = [...targets.values()].some((t) => t.kind === "group");
  // All messages of a channel (private bots) unless the platform refuses it; never both guild intents (each @-message would come twice).
  let guildIntent: number = INTENT.GUILD_MESSAGES;
  const intents = (): number => (hasChannels || !hasGroups ? guildIntent : 0) | (hasGroups ? INTENT.GROUP_AND_C2C_EVENT : 0);

  const unsettled = new Map<string, Unsettled>();
  const windows = new ReplyWindows({ now, ...(opts.quotaPerDay === undefined ? {} : { quotaPerDay: opts.quotaPerDay }) });
  const windowsFile = windowsPath(opts.stateDir, opts.id);
  const saver = new SnapshotWriter(windowsFile, () => ({ version: 1, ...windows.snapshot(), inflight: Object.fromEntries(unsettled) }), log);
  const seen = new Map<string, true>();
  let stream: HTTPStream | null = null;
  let listener: Listener | null = null;
  let botId: string | undefined;
  let ownEchoSeen = false;
  const botKnown = Promise.withResolvers<void>();
  net.signal.addEventListener("abort", () => botKnown.reject(new Error("qqbot stopped")), { once: true });
  botKnown.promise.catch(() => undefined);
  let tokenState: { state: "ok" | "auth-failed" | "retrying"; detail?: string } = { state: "ok" };
  let transport: { state: string; detail?: string } = { state: "starting" };
  /** Groups a send found without a window or quota. */
  const waiting = new Set<string>();
  let quotaTimer: NodeJS.Timeout | undefined;

  function refreshStatus(): void {
    if (tokenState.state !== "ok" && token?.current === undefined) return net.setStatus(tokenState.state, tokenState.detail);
    if (transport.state !== "online") return net.setStatus(transport.state, transport.detail);
    const parts: string[] = [];
    for (const g of [...waiting].sort()) {
      if (windows.ready(g)) waiting.delete(g);
      else parts.push(`${g}: waiting for a reply window${g.startsWith("channel:") ? " (proactive quota used up today)" : " (an @-mention of the bot opens one)"}`);
    }
    for (const t of targets.values()) if (t.kind === "channel") parts.push(`${t.key}: proactive quota ${windows.quotaLeft(t.key)} left today`);
    net.setStatus("online", parts.length ? parts.join("; ") : undefined);
  }

  /** The gateway's or webhook's state: a part of the status, with the token's and the reply windows'. */
  function transportState(state: string, detail?: string): void {
    transport = { state, ...(detail === undefined ? {} : { detail }) };
    refreshStatus();
  }

  function markWaiting(group: string): void {
    if (waiting.has(group)) return;
    waiting.add(group);
    refreshStatus();
    if (group.startsWith("channel:") && !quotaTimer) {
      // The quota comes back at midnight Beijing time: look again then (and every 10 minutes meanwhile).
      quotaTimer = setInterval(() => refreshStatus(), 10 * 60_000);
      quotaTimer.unref();
    }
  }

  async function handleEvent(sink: MessageSink, t: string, d: unknown, eventId: string | undefined): Promise<void> {
    // Without our own id an echo of our send would pass for someone else's message: wait for it.
    if (botId === undefined && cfg.events === "webhook") await botKnown.promise;
    const ev = readEvent(t, d, { botId, groups: keys });
    if (ev.kind === "skip") return void log.debug({ event: t, id: eventId, why: ev.why }, "qqbot: event skipped");
    if (ev.kind === "reject") return net.rejected(ev.why, { event: t, id: eventId }); // acknowledged
    if (ev.kind === "retract") {
      if (seen.has(ev.msg.id)) return;
      await net.deliver(sink, ev.msg);
      seen.set(ev.msg.id, true);
      if (seen.size > MAX_SEEN) seen.delete(seen.keys().next().value!);
      return;
    }
    if (ev.own) ownEchoSeen = true;
    else {
      windows.opened(ev.group, ev.msgId);
      saver.schedule();
      if (waiting.has(ev.group)) refreshStatus(); // a waiting group may send now: the relay hears it through onStatus
    }
    const msg: InboundMessage | undefined = ev.msg;
    if (!msg || seen.has(msg.id)) return;
    await net.deliver(sink, msg);
    seen.set(msg.id, true);
    if (seen.size > MAX_SEEN) seen.delete(seen.keys().next().value!);
  }

  async function learnBotId(s: HTTPStream, t: AccessToken): Promise<void> {
    const id = await net.untilDone(
      async () => {
        const me = await callApi(s, t, (tk) => meRequest(api, tk), "users/@me", net.signal);
        if (typeof me.id === "string" || typeof me.id === "number") return String(me.id);
        throw new Error("users/@me: no id in the answer");
      },
      (err) => ({ state: "retrying", detail: (err as Error).message, what: "users/@me" }),
      net.newFailures(transportState),
    );
    if (id === undefined) return; // stopped
    botId = id;
    botKnown.resolve();
  }

  /** The configured target of a send or recall; throws the fatal SendError of a bad one. */
  function targetOf(group: string): SendTarget {
    const bad = invalid.get(group);
    if (bad !== undefined) throw new SendError(`qqbot: ${bad}`, "fatal");
    const target = targets.get(group);
    if (!target) throw new SendError(`qqbot: "${group}" is not a configured group`, "fatal");
    return target;
  }

  return {
    ...net.base,
    maxMessageLength: QQBOT_MAX_MESSAGE_LENGTH,

    /** Channels echo the bot's own sends (with GUILD_MESSAGES, or as seen on the webhook); groups echo nothing, so a mix has no echo. */
    get evidence() {
      const echo = targets.size > 0 && !hasGroups && (cfg.events === "ws" ? guildIntent === INTENT.GUILD_MESSAGES : ownEchoSeen);
      return { echo, history: false };
    },

    async start(sink) {
      net.starting();
      transport = { state: "starting" };
      const saved = await loadWindows(windowsFile, log);
      if (saved) {
        windows.restore(saved);
        for (const [g, u] of Object.entries(saved.inflight)) if (targets.has(g)) unsettled.set(g, u);
      }
      const s = new HTTPStream({ logger: log, retry: opts.retry, chainBackoff: backoff, secrets: [cfg.secret], onResponse: opts.onResponse });
      stream = s;
      const t = new AccessToken({
        stream: s,
        api,
        secret: cfg.secret,
        log,
        backoff,
        onState: (state, detail) => {
          tokenState = { state, ...(detail === undefined ? {} : { detail }) };
          refreshStatus();
        },
      });
      token = t;
      t.start();
      if (cfg.events === "webhook") {
        listener = await startWebhook({
          listen: cfg.webhook!.listen,
          path: cfg.webhook!.path ?? "/",
          keys: webhookKeys(cfg.secret),
          log,
          handle: (type, d, id) => handleEvent(sink, type, d, id),
        });
        log.info({ url: listener.url, path: cfg.webhook!.path ?? "/" }, "qqbot: webhook listening");
        net.run(async () => {
          await learnBotId(s, t);
          transport = { state: "online" };
          refreshStatus();
        });
        return;
      }
      net.run(() => runGateway({
        stream: s,
        api,
        token: t,
        log,
        signal: net.signal,
        intents,
        onIntentRefused: (code) => {
          if (guildIntent === INTENT.GUILD_MESSAGES && hasChannels) {
            log.warn({ code }, "qqbot: GUILD_MESSAGES refused (a public bot?); falling back to PUBLIC_GUILD_MESSAGES: only @-messages of channels arrive, and our own sends no longer echo");
            guildIntent = INTENT.PUBLIC_GUILD_MESSAGES;
            return true;
          }
          return false;
        },
        dispatch: (type, d, id) => handleEvent(sink, type, d, id),
        onReady: (user) => {
          botId = user.id;
        },
        onState: transportState,
        failures: net.newFailures(transportState),
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
        ...(opts.establishTimeoutMs === undefined ? {} : { establishTimeoutMs: opts.establishTimeoutMs }),
      }));
    },

    async stop() {
      clearInterval(quotaTimer);
      await net.stop(async () => {
        await listener?.close();
        token?.stop();
        await stream?.close();
        await saver.flush();
      });
    },

    ready(group: string): boolean {
      if (!targets.has(group)) return true; // send() says why it cannot
      if (windows.ready(group)) return true;
      markWaiting(group);
      return false;
    },

    async send(group, text, sendOpts) {
      const target = targetOf(group);
      net.refuseTooLong(group, text, QQBOT_MAX_MESSAGE_LENGTH);
      if (!stream || !token || net.stopping) throw new SendError("qqbot is not started", "retry", { retryAfterMs: 5_000 });
      if (token.current === undefined && tokenState.state === "auth-failed") throw new SendError(`qqbot: ${scrub(tokenState.detail ?? "no access token")}`, "retry", { retryAfterMs: 60_000 });
      try {
        const id = await sendRich({ stream, api, token, windows, log, timeoutMs: opts.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS, now, unsettled, persist: () => saver.flush(), persistSoon: () => saver.schedule() }, target, text, sendOpts);
        if (target.kind === "channel") refreshStatus(); // the quota left changed
        return { id };
      } catch (err) {
        if (err instanceof SendError && err.name === "WaitingError") markWaiting(group);
        else refreshStatus();
        throw err instanceof SendError ? new SendError(scrub(err.message), err.kind, { cause: err.cause, ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }) }) : err;
      }
    },

    /** Quotes exist for guild channels only (the v2 group API takes no message_reference); no edit in either. */
    get features() {
      return { reply: !hasGroups, edit: false, retract: true, media: true, mention: false };
    },

    async retract(group, id) {
      const target = targetOf(group);
      if (!stream || !token || net.stopping) throw new SendError("qqbot is not started", "retry", { retryAfterMs: 5_000 });
      try {
        await recall({ stream, api, token, timeoutMs: opts.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS, warnings: net.warnings }, target, id);
      } catch (err) {
        throw err instanceof SendError ? new SendError(scrub(err.message), err.kind, { cause: err.cause, ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }) }) : err;
      }
    },

    async fetchMedia(media, maxBytes) {
      if (!stream || net.stopping) throw new SendError("qqbot is not started", "retry", { retryAfterMs: 5_000 });
      return await fetchAttachment(stream, media, maxBytes, net.signal);
    },

    async groups() {
      return [...targets.keys()];
    },
  };
}
