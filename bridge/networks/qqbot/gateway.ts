// Events over the gateway WebSocket (protocols.md §6.3), on undici's WebSocket client:
// GET /gateway/bot, Hello, heartbeats at the given interval carrying the last committed seq,
// Identify with the intents the bridges need, Resume (session_id + seq) after a drop or an op 7,
// a fresh Identify after an op 9, and a socket whose heartbeat went unacknowledged is dead and
// replaced. Durability: a dispatch's seq becomes the resume point only after its handler (the
// sink) resolved, so a resume replays whatever was not stored; replays already queued are skipped.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { Agent, WebSocket, type Dispatcher } from "undici";
import { redactText, type HTTPStream } from "../../../src/index.ts";
import type { Failures } from "../shared/failures.ts";
import { ApiError, gatewayRequest, type QqbotApi } from "./api.ts";
import { callApi } from "./client.ts";
import type { AccessToken } from "./token.ts";

export const INTENT = {
  GUILD_MESSAGES: 1 << 9,
  GROUP_AND_C2C_EVENT: 1 << 25,
  PUBLIC_GUILD_MESSAGES: 1 << 30,
} as const;

/** Close codes after which the session cannot be resumed (websocket.md): identify afresh. */
const IDENTIFY_CODES = new Set([4006, 4007]);
const INTENT_CODES = new Set([4013, 4014]);
const FATAL_CODES = new Set([4914, 4915]);
/** How long a closing socket may take before we stop waiting for it. */
const CLOSE_WAIT_MS = 2_000;
/** From opening the socket to READY or RESUMED: a server that says nothing that long is not going to. */
const ESTABLISH_TIMEOUT_MS = 30_000;

export interface GatewayOptions {
  stream: HTTPStream;
  api: QqbotApi;
  token: AccessToken;
  log: Logger;
  signal: AbortSignal;
  /** The intents to identify with (may change after onIntentRefused). */
  intents: () => number;
  /** The server refused the intents (4013/4014); return true when others should be tried at once. */
  onIntentRefused: (code: number) => boolean;
  /** Handles one dispatch; resolves once it is durable (never rejects unless stopping). */
  dispatch: (t: string, d: unknown, id: string | undefined) => Promise<void>;
  onReady: (user: { id: string; username?: string }) => void;
  onState: (state: string, detail?: string) => void;
  /** The backoff of the connection (the network skeleton's): a session that starts resets it. */
  failures: Failures;
  /** The undici dispatcher sockets are opened with. */
  dispatcher?: Dispatcher;
  /** From opening a socket to READY/RESUMED (default 30 s). */
  establishTimeoutMs?: number;
}

type Ending =
  | { why: "closed"; code: number; reason: string }
  | { why: "dead" }
  | { why: "reconnect" }
  | { why: "invalid-session" }
  | { why: "stopped" };

interface Session {
  id: string;
  /** The highest seq whose dispatch is durable: the resume point. */
  seq: number;
}

export async function runGateway(o: GatewayOptions): Promise<void> {
  const dispatcher = o.dispatcher ?? new Agent({ connect: { timeout: 10_000 } });
  let session: Session | null = null;
  /** Bumped at every READY: a queued dispatch of an older session never moves the new one's seq. */
  let generation = 0;
  /** The highest seq put in the queue in this generation (replays up to it are already queued). */
  let queuedSeq = 0;
  let tail: Promise<void> = Promise.resolve();

  const enqueue = (gen: number, s: number | undefined, run: () => Promise<void>): void => {
    tail = tail.then(async () => {
      try {
        await run();
      } catch (err) {
        if (!o.signal.aborted) o.log.error({ err: (err as Error).message, seq: s }, "qqbot: dispatch handler failed");
        return; // not durable: the seq stays where it was, a resume replays it
      }
      if (gen === generation && session && s !== undefined && s > session.seq) session.seq = s;
    });
  };

  function connectOnce(url: string, token: string): Promise<Ending> {
    return new Promise<Ending>((resolve) => {
      const ws = new WebSocket(url, { dispatcher } as ConstructorParameters<typeof WebSocket>[1]);
      let ended = false;
      let beat: NodeJS.Timeout | undefined;
      let awaitingAck = false;
      const establishMs = o.establishTimeoutMs ?? ESTABLISH_TIMEOUT_MS;
      const establishing = setTimeout(() => {
        o.log.warn({ timeoutMs: establishMs }, "qqbot: the gateway did not complete Hello and READY/RESUMED in time; reconnecting");
        end({ why: "dead" }, { code: 4000, reason: "no session" });
      }, establishMs);
      const closed = new Promise<void>((r) => ws.addEventListener("close", () => r()));
      const end = (e: Ending, close?: { code: number; reason: string }): void => {
        if (ended) return;
        ended = true;
        clearInterval(beat);
        clearTimeout(establishing);
        o.signal.removeEventListener("abort", onAbort);
        if (close && ws.readyState !== ws.CLOSED) {
          try {
            ws.close(close.code, close.reason);
          } catch {
            // already closing
          }
        }
        // The old socket is gone (or given up on) before the next one resumes its session.
        const ac = new AbortController();
        void Promise.race([closed, sleep(CLOSE_WAIT_MS, undefined, { signal: ac.signal }).catch(() => undefined)]).then(() => {
          ac.abort();
          resolve(e);
        });
      };
      const onAbort = (): void => end({ why: "stopped" }, { code: 1000, reason: "stopping" });
      o.signal.addEventListener("abort", onAbort, { once: true });
      const send = (payload: unknown): void => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
      };
      const heartbeat = (): void => send({ op: 1, d: session && session.seq > 0 ? session.seq : null });

      ws.addEventListener("close", (ev) => end({ why: "closed", code: ev.code, reason: ev.reason }));
      ws.addEventListener("error", () => {
        // A close event follows; the error itself carries nothing worth more than the close code.
      });
      ws.addEventListener("message", (ev) => {
        if (ended) return;
        let p: { op?: unknown; d?: unknown; s?: unknown; t?: unknown; id?: unknown };
        try {
          p = JSON.parse(typeof ev.data === "string" ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString("utf8")) as typeof p;
        } catch {
          o.log.warn("qqbot: gateway sent a frame that is not JSON; reconnecting");
          return end({ why: "dead" }, { code: 4000, reason: "bad frame" });
        }
        switch (p.op) {
          case 10: {
            const interval = (p.d as { heartbeat_interval?: unknown } | null)?.heartbeat_interval;
            const ms = typeof interval === "number" && interval > 0 ? interval : 45_000;
            beat = setInterval(() => {
              if (awaitingAck) {
                o.log.warn({ intervalMs: ms }, "qqbot: no heartbeat ACK within an interval; the socket is dead, replacing it");
                return end({ why: "dead" }, { code: 4000, reason: "heartbeat ACK missed" });
              }
              awaitingAck = true;
              heartbeat();
            }, ms);
            if (session) {
              o.log.info({ seq: session.seq }, "qqbot: resuming the gateway session");
              send({ op: 6, d: { token: `QQBot ${token}`, session_id: session.id, seq: session.seq } });
            } else {
              const intents = o.intents();
              o.log.info({ intents }, "qqbot: identifying on the gateway");
              send({ op: 2, d: { token: `QQBot ${token}`, intents, shard: [0, 1], properties: { $os: process.platform, $browser: "pollbridge", $device: "pollbridge" } } });
            }
            return;
          }
          case 11:
            awaitingAck = false;
            return;
          case 1:
            return heartbeat();
          case 7:
            o.log.info("qqbot: the gateway asked us to reconnect (op 7); resuming");
            return end({ why: "reconnect" }, { code: 4000, reason: "reconnect" });
          case 9:
            o.log.warn("qqbot: the gateway invalidated the session (op 9); identifying afresh");
            return end({ why: "invalid-session" }, { code: 4000, reason: "invalid session" });
          case 0:
            return onDispatch(p.t, p.d, p.s, p.id);
          default:
            o.log.debug({ op: p.op }, "qqbot: gateway opcode ignored");
        }
      });

      function onDispatch(t: unknown, d: unknown, s: unknown, id: unknown): void {
        const seq = typeof s === "number" && Number.isSafeInteger(s) ? s : undefined;
        if (t === "READY") {
          const r = (d ?? {}) as { session_id?: unknown; user?: { id?: unknown; username?: unknown } };
          if (typeof r.session_id !== "string") {
            o.log.warn("qqbot: READY without a session_id; identifying again");
            return end({ why: "invalid-session" }, { code: 4000, reason: "bad READY" });
          }
          generation++;
          session = { id: r.session_id, seq: seq ?? 0 };
          queuedSeq = seq ?? 0;
          o.failures.ok();
          const uid = r.user?.id;
          if (typeof uid === "string" || typeof uid === "number") o.onReady({ id: String(uid), ...(typeof r.user?.username === "string" ? { username: r.user.username } : {}) });
          clearTimeout(establishing);
          o.log.info("qqbot: gateway session ready");
          o.onState("online");
          return;
        }
        if (seq !== undefined && seq <= queuedSeq) return; // a replay of what is already queued
        if (seq !== undefined) queuedSeq = seq;
        const gen = generation;
        if (t === "RESUMED") {
          clearTimeout(establishing);
          o.failures.ok();
          o.log.info("qqbot: gateway session resumed");
          o.onState("online");
          return enqueue(gen, seq, async () => {});
        }
        enqueue(gen, seq, () => o.dispatch(String(t), d, typeof id === "string" ? id : undefined));
      }
    });
  }

  while (!o.signal.aborted) {
    let wait = 0;
    let token: string;
    try {
      token = await o.token.get(o.signal);
      const answer = await callApi(o.stream, o.token, (tk) => gatewayRequest(o.api, tk), "gateway/bot", o.signal);
      if (typeof answer.url !== "string" || !/^wss?:\/\//.test(answer.url)) throw new Error("gateway/bot: no ws:// or wss:// url in the answer");
      const limit = (answer.session_start_limit ?? {}) as { remaining?: unknown; reset_after?: unknown };
      if (!session && limit.remaining === 0 && typeof limit.reset_after === "number" && limit.reset_after > 0) {
        // No Identify left today: asking anyway only earns a close (botpy refuses to start here).
        wait = Math.min(limit.reset_after, 24 * 3600_000);
        o.log.warn({ retryIn: wait }, "qqbot: no gateway session starts left (session_start_limit); waiting for the reset");
        o.onState("retrying", `gateway: no session starts left; next in ${Math.round(wait / 1000)} s`);
        await sleep(wait, undefined, { signal: o.signal }).catch(() => undefined);
        continue;
      }
      token = o.token.current ?? token;
      const ending = await connectOnce(answer.url, token);
      if (ending.why === "stopped") break;
      if (ending.why === "invalid-session") {
        session = null;
        wait = 1_000 + Math.floor(Math.random() * 4_000); // as the SDKs: a short pause before identifying
        o.onState("reconnecting", "gateway: the session is invalid; identifying again");
      } else if (ending.why === "closed") {
        const { code } = ending;
        if (code === 4004) {
          o.log.warn("qqbot: the gateway refused the token (4004); getting a new one");
          await o.token.refresh(token, o.signal);
        } else if (INTENT_CODES.has(code)) {
          session = null;
          if (!o.onIntentRefused(code)) {
            wait = o.failures.authFailed(`the gateway refused the intents (close ${code}); enable them for the bot in the QQ bot console`, "intent-refused");
          }
        } else if (FATAL_CODES.has(code)) {
          session = null;
          wait = o.failures.authFailed(`the bot is ${code === 4914 ? "delisted (下架)" : "banned (封禁)"} (close ${code})`, "bot-unavailable");
        } else {
          if (IDENTIFY_CODES.has(code) || (code >= 4900 && code <= 4913)) session = null;
          const resume = session !== null ? "resuming" : "identifying again";
          wait = o.failures.failed("reconnecting", `gateway: socket closed (${code}${ending.reason ? ` ${ending.reason}` : ""}); ${resume}`, "gateway socket");
        }
      } else if (ending.why === "dead") {
        wait = o.failures.failed("reconnecting", "gateway: the socket went silent; resuming", "gateway socket");
      } // an op 7: resume at once
    } catch (err) {
      if (o.signal.aborted) break;
      const detail = redactText((err as Error).message, [...o.token.seen]);
      wait = o.failures.failed(err instanceof ApiError ? "retrying" : "offline", detail, "gateway connect");
    }
    if (wait > 0) await sleep(wait, undefined, { signal: o.signal }).catch(() => undefined);
  }
  await tail;
  if (!o.dispatcher) await (dispatcher as Agent).close().catch(() => undefined);
}
