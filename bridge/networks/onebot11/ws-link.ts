// One open OneBot 11 WebSocket, forward or reverse (protocols.md §2.7): frames with a post_type are
// events, the rest answers to our actions, matched by `echo`. Liveness: any frame proves it;
// heartbeat meta events give the interval, and a socket silent for 3 intervals (60 s before the
// first heartbeat) is dead: terminated, so the owner replaces it.
import type { Logger } from "pino";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import { ActionLostError, ActionNotSentError, answerData } from "./api.ts";
import type { Actions, CallOptions } from "./actions.ts";
import { snippet } from "../shared/snippet.ts";

/** What both socket libraries (undici's client, ws's server side) give us. */
export interface Peer {
  send(text: string): void;
  /** A close handshake. */
  close(code?: number, reason?: string): void;
  /** Dropped at once, no close frame (a dead peer would never answer one). */
  terminate(): void;
}

/** Silence limit before the first heartbeat tells the interval. */
export const DEFAULT_SILENCE_MS = 60_000;
/** The silence limit a heartbeat interval can set, bounded (3 intervals within these). */
export const MIN_SILENCE_MS = 1_000;
export const MAX_SILENCE_MS = 10 * 60_000;
/** An action's answer is awaited this long unless the caller says otherwise. */
export const DEFAULT_ACTION_TIMEOUT_MS = 30_000;

export interface LinkOptions {
  peer: Peer;
  /** Events come on it (Universal, Event). */
  events: boolean;
  /** Actions go on it (Universal, API). */
  api: boolean;
  log: Logger;
  warn: RepeatedWarning;
  onEvent(event: Record<string, unknown>): void;
  /** The socket is dead (silent) or gone; called once. */
  onDown(reason: string): void;
  /** A frame refusing our token (NapCat and LLBot answer a bad token with retcode 1403, then close). */
  onAuthRefused?(detail: string): void;
  /** Silence limit before the first heartbeat (tests pass small values). */
  silenceMs?: number;
}

interface Pending {
  action: string;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

let echoCounter = 0;

export class SocketLink implements Actions {
  readonly o: LinkOptions;
  private readonly pending = new Map<string, Pending>();
  private silence: NodeJS.Timeout;
  private silenceLimit: number;
  private down = false;
  /** Heartbeat interval the implementation announced (ms), once known. */
  heartbeatMs: number | undefined;
  /** Frames received: a socket that carried some was healthy. */
  frames = 0;

  constructor(o: LinkOptions) {
    this.o = o;
    this.silenceLimit = o.silenceMs ?? DEFAULT_SILENCE_MS;
    this.silence = setTimeout(() => this.silent(), this.silenceLimit);
    this.silence.unref();
  }

  get isDown(): boolean {
    return this.down;
  }

  private silent(): void {
    if (this.down) return;
    this.o.log.warn({ silentMs: this.silenceLimit, heartbeatMs: this.heartbeatMs }, "onebot11: the socket went silent; dropping it");
    this.o.peer.terminate();
    this.gone(`silent for ${this.silenceLimit} ms`);
  }

  /** A frame arrived (text). */
  receive(text: string): void {
    if (this.down) return;
    this.frames++;
    this.silence.refresh();
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.o.warn.warn("bad-frame", { frame: snippet(text) }, "onebot11: unreadable socket frame skipped");
      return;
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) {
      this.o.warn.warn("bad-frame", { frame: snippet(text) }, "onebot11: socket frame that is not an object skipped");
      return;
    }
    const f = frame as Record<string, unknown>;
    if (typeof f.post_type === "string") {
      if (f.post_type === "meta_event" && f.meta_event_type === "heartbeat" && typeof f.interval === "number" && f.interval > 0 && Number.isFinite(f.interval)) {
        if (this.heartbeatMs !== f.interval) {
          this.heartbeatMs = f.interval;
          // Bounded both ways: a peer announcing 1 ms must not make us drop it every few ms, nor 1e12 ms never.
          this.silenceLimit = Math.min(Math.max(3 * f.interval, MIN_SILENCE_MS), MAX_SILENCE_MS);
          clearTimeout(this.silence);
          this.silence = setTimeout(() => this.silent(), this.silenceLimit);
          this.silence.unref();
        }
      }
      if (this.o.events) this.o.onEvent(f);
      return;
    }
    this.answer(f);
  }

  private answer(f: Record<string, unknown>): void {
    const echo = f.echo === undefined || f.echo === null ? undefined : typeof f.echo === "string" ? f.echo : JSON.stringify(f.echo);
    if (f.retcode === 1403 || f.retcode === 1401) {
      // Sent on connect by NapCat/LLBot for a bad token (no echo), or as an action's answer.
      if (echo === undefined || !this.pending.has(echo)) {
        this.o.onAuthRefused?.(`${String(f.retcode)}: ${typeof f.message === "string" ? f.message : typeof f.wording === "string" ? f.wording : "token refused"}`);
        return;
      }
    }
    let p = echo === undefined ? undefined : this.pending.get(echo);
    let key = echo;
    // LLBot answers a parameter failure (1400) without the echo: with one action waiting it is that one's.
    if (p === undefined && echo === undefined && this.pending.size === 1) [key, p] = [...this.pending.entries()][0]!;
    if (p === undefined || key === undefined) {
      this.o.warn.warn("stray-answer", { frame: snippet(JSON.stringify(f)) }, "onebot11: answer matching no action skipped");
      return;
    }
    this.pending.delete(key);
    clearTimeout(p.timer);
    try {
      p.resolve(answerData(f, p.action));
    } catch (err) {
      p.reject(err);
    }
  }

  call(action: string, params: Record<string, unknown>, o: CallOptions = {}): Promise<unknown> {
    if (!this.o.api) return Promise.reject(new ActionNotSentError(action, "this socket carries events only"));
    if (this.down) return Promise.reject(new ActionNotSentError(action, "no open socket"));
    const echo = `pb-${process.pid}-${++echoCounter}`;
    return new Promise((resolve, reject) => {
      const timeoutMs = o.timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS;
      const timer = setTimeout(() => {
        this.pending.delete(echo);
        reject(new ActionLostError(action, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      try {
        this.o.peer.send(JSON.stringify({ action, params, echo }));
      } catch (err) {
        clearTimeout(timer);
        return reject(new ActionNotSentError(action, (err as Error).message));
      }
      this.pending.set(echo, { action, resolve, reject, timer });
      o.signal?.addEventListener("abort", () => {
        if (!this.pending.delete(echo)) return;
        clearTimeout(timer);
        reject(new ActionLostError(action, "stopping"));
      }, { once: true });
    });
  }

  /** The socket closed (or was found dead): every action waiting is answered "lost". */
  gone(reason: string): void {
    if (this.down) return;
    this.down = true;
    clearTimeout(this.silence);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ActionLostError(p.action, `socket closed (${reason})`));
    }
    this.pending.clear();
    this.o.onDown(reason);
  }
}
