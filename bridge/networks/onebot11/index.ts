// The OneBot 11 network adapter (go-cqhttp, NapCat, Lagrange.OneBot, LLOneBot): identity from
// get_login_info, events by get_updates long poll, HTTP POST webhook or NapCat SSE, sends by
// send_group_msg. Group ids are numbers on the wire and strings in the config.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { HTTPStream, redactError, type ChainHandle, type RetryOptions, type ResponseInfo } from "../../../src/index.ts";
import type { Onebot11NetworkConfig } from "../../config/types.ts";
import type { MessageSink, NetworkAdapter } from "../../network.ts";
import { SendError } from "../../network.ts";
import { authRetryDelay } from "../shared/auth-retry.ts";
import { StatusHolder } from "../shared/status.ts";
import { ActionError, actionRequest, parseLoginInfo, readAction, type ApiTarget } from "./api.ts";
import { Inbound } from "./inbound.ts";
import { startLongPoll } from "./long-poll.ts";
import { MemberNames } from "./names.ts";
import { PendingEvents, pendingPath } from "./pending.ts";
import { sendFailure, sendGroupMessage } from "./sender.ts";
import { FailureCount, type SourceContext } from "./source.ts";
import { startSse } from "./sse.ts";
import { startWebhook, type WebhookServer } from "./webhook.ts";

/**
 * Longest text of one send. Mrs4s (go-cqhttp#744): "理论上单条消息最多能发5000字", but long group
 * messages trip QQ's risk control (go-cqhttp#170, #2324; "一般在2000字之内"): 2000 stays clear of both.
 */
export const ONEBOT11_MAX_MESSAGE_LENGTH = 2000;
/** Long-poll hold asked of the server by default (s). */
export const DEFAULT_POLL_TIMEOUT_SECONDS = 30;

export interface Onebot11Options {
  id: string; // network key in config
  config: Onebot11NetworkConfig;
  stateDir: string; // pending events of the long poll (mode 0600)
  logger: Logger;
  groups: string[]; // the configured group ids (strings) this network relays
  retry?: Partial<RetryOptions>; // tests pass tiny delays
  /** Observes every answered HTTP request (run wires poll latency metrics to it). */
  onResponse?: (info: ResponseInfo) => void;
  pollTimeoutSeconds?: number; // long-poll hold asked of the server; tests pass small values
}

export function createOnebot11(opts: Onebot11Options): NetworkAdapter {
  const cfg = opts.config;
  // Named by its path in pollbridge.yaml, as `pollbridge check` names problems.
  if (cfg.events === "webhook" && !cfg.webhook?.listen) {
    throw new Error(`networks.${opts.id}.webhook.listen is required when events is webhook`);
  }
  const log = opts.logger.child({ network: opts.id });
  const target: ApiTarget = { api: cfg.api, token: cfg.access_token };
  const secrets = [cfg.access_token, cfg.webhook?.secret].filter((s): s is string => typeof s === "string" && s !== "");
  const backoff = { min: opts.retry?.minTimeout ?? 1_000, max: opts.retry?.maxTimeout ?? 60_000 };
  // A refused token does not fix itself: wait long (the longest wait a server may ask), growing to 10×.
  const authBase = opts.retry?.maxRetryAfter ?? 60_000;
  const authWait = (n: number): number => authRetryDelay(n, authBase, authBase * 10);
  const configured = new Set(opts.groups);
  const pending = new PendingEvents(pendingPath(opts.stateDir, opts.id));

  let stream: HTTPStream | null = null;
  let webhook: WebhookServer | null = null;
  let selfId: number | null = null;
  const main = new AbortController();
  let running: Promise<void> | null = null;

  const status = new StatusHolder({ log, network: "onebot11" });
  /** After stop(), a late callback of a chain or the webhook must not report a state again. */
  function setStatus(state: string, detail?: string): void {
    if (main.signal.aborted && state !== "stopped") return;
    status.set(state, detail);
  }

  function openStream(): HTTPStream {
    return new HTTPStream({ logger: log, retry: opts.retry, chainBackoff: backoff, secrets, onResponse: opts.onResponse });
  }

  /** get_login_info until it answers: our own user id, for loop prevention. */
  async function identify(s: HTTPStream, ctx: SourceContext): Promise<void> {
    const failures = new FailureCount(ctx);
    while (!main.signal.aborted) {
      let wait: number;
      try {
        const res = await s.request(actionRequest(target, "get_login_info", {}, { retrySafe: true }), { signal: main.signal });
        const info = parseLoginInfo(await readAction(res, "get_login_info"));
        selfId = info.userId;
        log.info({ selfId, nickname: info.nickname }, "onebot11: logged in");
        return;
      } catch (err) {
        if (main.signal.aborted) return;
        if (err instanceof ActionError && err.kind === "auth") wait = failures.authFailed(err.message);
        else {
          const unreachable = !(err instanceof ActionError);
          wait = failures.failed(unreachable ? "offline" : "retrying", `get_login_info: ${String(redactError(err, secrets).message)}`);
        }
      }
      await sleep(wait, undefined, { signal: main.signal }).catch(() => undefined);
    }
  }

  /** Events the previous run took from get_updates and never delivered: first in line. */
  async function deliverLeftovers(inbound: Inbound): Promise<void> {
    const { events, setAside } = await pending.load();
    if (setAside !== undefined) log.error({ keptAs: setAside }, "onebot11: pending events file unreadable; set aside");
    if (events.length > 0) log.info({ count: events.length }, "onebot11: delivering events kept from the previous run");
    for (const event of events) {
      await inbound.handle(event);
      await pending.remove(event);
    }
  }

  async function supervise(s: HTTPStream, ctx: SourceContext): Promise<void> {
    await identify(s, ctx);
    if (main.signal.aborted) return;
    setStatus("online"); // the server answered with our token accepted
    if (cfg.events === "webhook") return;
    try {
      await deliverLeftovers(ctx.inbound);
    } catch (err) {
      if (main.signal.aborted) return;
      throw err;
    }
    const chain: ChainHandle = cfg.events === "sse" ? startSse(ctx) : startLongPoll(ctx, pending);
    await chain.done.catch((err: unknown) => {
      if (!main.signal.aborted) log.error({ err: redactError(err, secrets) }, "onebot11: event chain ended");
    });
  }

  return {
    id: opts.id,
    type: "onebot11",
    maxMessageLength: ONEBOT11_MAX_MESSAGE_LENGTH,
    evidence: { echo: false, history: false },

    async start(sink: MessageSink) {
      if (running) throw new Error("onebot11 already started");
      setStatus("starting");
      const s = openStream();
      stream = s;
      const inbound = new Inbound({ groups: configured, selfId: () => selfId, names: new MemberNames(s, target, log), sink, log, backoff, signal: main.signal });
      const ctx: SourceContext = {
        stream: s,
        target,
        log,
        signal: main.signal,
        inbound,
        backoff,
        authWait,
        pollTimeoutSeconds: opts.pollTimeoutSeconds ?? DEFAULT_POLL_TIMEOUT_SECONDS,
        setStatus,
      };
      if (cfg.events === "webhook") {
        try {
          webhook = await startWebhook({ ...cfg.webhook!, inbound, log, signal: main.signal });
        } catch (err) {
          await s.close();
          stream = null;
          setStatus("stopped", (err as Error).message);
          throw err;
        }
      }
      running = supervise(s, ctx).catch((err: unknown) => {
        log.error({ err: redactError(err, secrets) }, "onebot11: stopped by an error");
        setStatus("failed", String(redactError(err, secrets).message));
      });
    },

    async stop() {
      main.abort();
      await running;
      await webhook?.close();
      await stream?.close();
      setStatus("stopped");
    },

    async send(group, text) {
      if (!configured.has(group)) throw new SendError(`onebot11: "${group}" is not a configured group`, "fatal");
      const groupId = Number(group);
      if (!/^\d+$/.test(group) || !Number.isSafeInteger(groupId)) throw new SendError(`onebot11: group "${group}" is not a numeric group id`, "fatal");
      if ([...text].length > ONEBOT11_MAX_MESSAGE_LENGTH) {
        throw new SendError(`onebot11: text longer than ${ONEBOT11_MAX_MESSAGE_LENGTH} characters (the relay splits before)`, "fatal");
      }
      if (!stream || selfId === null || main.signal.aborted) throw new SendError("onebot11 is not online", "retry", { retryAfterMs: 5_000 });
      try {
        const id = await sendGroupMessage(stream, target, groupId, text, main.signal);
        if (cfg.events === "webhook") setStatus("online");
        return { id };
      } catch (err) {
        const e = sendFailure(err, group, authWait(1));
        if (err instanceof ActionError && err.kind === "auth") setStatus("auth-failed", err.message);
        log.warn({ group, kind: e.kind, err: redactError(err, secrets) }, "onebot11: send failed");
        throw e;
      }
    },

    async groups() {
      const s = stream ?? openStream();
      try {
        const res = await s.request(actionRequest(target, "get_group_list", {}, { retrySafe: true }), { signal: main.signal });
        const data = await readAction(res, "get_group_list");
        return Array.isArray(data) ? data.flatMap((g: { group_id?: unknown }) => (typeof g?.group_id === "number" ? [String(g.group_id)] : [])) : [];
      } finally {
        if (s !== stream) await s.close();
      }
    },

    status: () => status.get(),

    onStatus: (listener) => status.onStatus(listener),
  };
}
