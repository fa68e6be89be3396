// The get_latest_events long-poll chain (protocols.md §3): the next poll goes out only after every
// event of the answer went through the sink. Empty answers that come back well before the asked
// `timeout` (an implementation that ignores it, or treats it as a short poll) are backed off, so
// the chain never spins.
import type { Logger } from "pino";
import { backoffDelay, type HTTPStream, type Step, type StepContext, type StreamResponse } from "../../../src/index.ts";
import { z } from "zod";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import { ActionError, actionRequest, type ActionTarget, readAction, safeMessage } from "./action.ts";

const EventList = z.array(z.unknown());

/** Events asked per poll: bounded, so one answer never holds an unbounded backlog in memory. */
export const POLL_LIMIT = 100;
/** The hold of a poll while we are sending (PollerOptions.shortHold). */
export const SHORT_HOLD_SECONDS = 1;
/** Longest pause between two polls of a server that answers [] at once. */
export const IDLE_MAX_MS = 5_000;

export interface PollerOptions {
  stream: HTTPStream;
  target: ActionTarget;
  log: Logger;
  /** The `timeout` asked of the server, whole seconds ≥ 1 (0 would mean "do not wait"; go-cqhttp: "forever"). */
  timeoutSeconds: number;
  /**
   * True while the next poll should hold at most SHORT_HOLD_SECONDS: we sent lately, so an own
   * echo or its absence must show soon (an unconfirmed send waits for it). A long hold sent just
   * before a send that failed would keep its fence (onComplete) back for the whole hold.
   */
  shortHold?: () => boolean;
  backoff: { min: number; max: number };
  signal: AbortSignal;
  /**
   * Handles one answer's events in order; resolves once all are durable, with whether any was
   * usable (an answer of nothing but rejected or repeated events is a bad answer: backed off).
   */
  onEvents: (events: unknown[]) => Promise<boolean>;
  /**
   * An answer shorter than the limit went through onEvents: every event the server made before
   * `sentAt` (performance.now() when the poll went out) is delivered (echoesThrough).
   */
  onComplete?: (sentAt: number) => void;
  /** Every good answer (status "online"). */
  onAnswer: () => void;
  /** A failed poll, with what went wrong (status "retrying"). */
  onTrouble: (detail: string) => void;
  /** Warnings a server can make us repeat go through this (once a minute, with a count). */
  warnings: RepeatedWarning;
}

export type PollEnd =
  | { reason: "stopped" }
  | { reason: "auth"; detail: string } // 401/403: the token is refused
  | { reason: "unsupported"; detail: string }; // 10002: get_latest_events is switched off

/** The HTTP timeout of a poll: the asked hold plus a margin (half the hold, 0.5–30 s). */
export function pollHttpTimeout(timeoutSeconds: number): number {
  const hold = timeoutSeconds * 1000;
  return hold + Math.min(30_000, Math.max(500, Math.round(hold / 2)));
}

/** An empty answer that arrived in less than half the asked hold: the server did not wait. */
export function isEarlyEmpty(events: number, elapsedMs: number, timeoutSeconds: number): boolean {
  return events === 0 && elapsedMs < (timeoutSeconds * 1000) / 2;
}

/**
 * Pause before the next poll after `n` early empty answers in a row (0: none): the project's one
 * backoff (src backoffDelay), never below the idle minimum, so a server answering at once is
 * never spun on.
 */
export function idlePause(n: number, o: { min: number; max: number }): number {
  if (n < 1) return 0;
  return Math.max(o.min, backoffDelay(n, o));
}

/** The idle backoff for a poller: from the stream's backoff, never above the asked hold or IDLE_MAX_MS. */
export function idleBackoff(backoff: { min: number; max: number }, timeoutSeconds: number): { min: number; max: number } {
  const max = Math.max(1, Math.min(backoff.max, IDLE_MAX_MS, timeoutSeconds * 1000));
  return { min: Math.max(1, Math.min(backoff.min, 500, max)), max };
}

/** Starts the poll chain; resolves when it ends (see PollEnd). */
export function runPoller(o: PollerOptions): Promise<PollEnd> {
  let end: PollEnd = { reason: "stopped" };
  let badAnswers = 0;
  let earlyEmpties = 0;
  let sentAt = 0;
  /** The hold the poll in flight asked for. */
  let held = o.timeoutSeconds;
  const idle = idleBackoff(o.backoff, o.timeoutSeconds);
  const poll = (hold: number) =>
    actionRequest(
      o.target,
      "get_latest_events",
      { limit: POLL_LIMIT, timeout: hold },
      // A poll is safe to resend: nothing was taken if no answer came (and if one was lost, a
      // resend cannot bring it back). Statuses go to the readback.
      { longPoll: true, timeout: pollHttpTimeout(hold), retrySafe: true },
    );
  const longPoll = poll(o.timeoutSeconds);
  const shortPoll = o.timeoutSeconds > SHORT_HOLD_SECONDS ? poll(SHORT_HOLD_SECONDS) : longPoll;

  const step = (delay = 0): Step => {
    sentAt = performance.now() + delay;
    const request = o.shortHold?.() ? shortPoll : longPoll;
    held = request === shortPoll ? Math.min(SHORT_HOLD_SECONDS, o.timeoutSeconds) : o.timeoutSeconds;
    return { request, readback, delay };
  };

  const failed = (detail: string, retryAfterMs = 0): Step => {
    badAnswers++;
    const wait = Math.max(backoffDelay(badAnswers, o.backoff), o.backoff.min, Math.min(retryAfterMs, o.backoff.max * 10), 1);
    o.warnings.warn(`get_latest_events:${detail.slice(0, 200)}`, { reason: detail, failures: badAnswers, retryIn: wait }, "onebot12: get_latest_events failed; backing off");
    o.onTrouble(detail);
    return step(wait);
  };

  async function readback(res: StreamResponse, _ctx: StepContext): Promise<Step | undefined> {
    const elapsed = performance.now() - sentAt;
    let data: unknown;
    try {
      data = await readAction(res, "get_latest_events");
    } catch (err) {
      if (!(err instanceof ActionError)) throw err; // the body could not be read: onError backs off
      const f = err.failure;
      if (f.kind === "auth") {
        end = { reason: "auth", detail: err.message };
        return undefined;
      }
      if (f.kind === "failed" && f.retcode === 10002) {
        end = { reason: "unsupported", detail: `${err.message}: the implementation does not offer get_latest_events over HTTP (enable its HTTP event buffer, e.g. event_enabled)` };
        return undefined;
      }
      return failed(err.message, f.kind === "http" ? f.retryAfterMs : undefined);
    }
    const list = EventList.safeParse(data);
    if (!list.success) return failed(`data is not an event list: ${JSON.stringify(data)?.slice(0, 80)}`);
    const events = list.data;
    const polledAt = sentAt;
    if (events.length > 0 && !(await o.onEvents(events))) return failed(`no usable event in the answer (${events.length}, each rejected or a repeat)`);
    if (events.length < POLL_LIMIT) o.onComplete?.(polledAt);
    badAnswers = 0;
    o.onAnswer();
    earlyEmpties = isEarlyEmpty(events.length, elapsed, held) ? earlyEmpties + 1 : 0;
    if (earlyEmpties === 3) o.log.info({ timeout: o.timeoutSeconds }, "onebot12: the server answers empty polls at once (it does not hold them); polling with a pause");
    return step(idlePause(earlyEmpties, idle));
  }

  const first = step();
  const chain = o.stream.add(first.request, first.readback, {
    name: "onebot12 get_latest_events",
    signal: o.signal,
    onError: (err: unknown, _failed: Step, ctx: StepContext) => {
      // Transport failures after HTTPStream's own retries, a body cut short, a sink that failed
      // past its retries: the chain stays alive and backs off.
      const wait = Math.max(1, o.backoff.min, backoffDelay(ctx.failures, o.backoff));
      const detail = safeMessage(err, o.target);
      o.warnings.warn(`get_latest_events:step:${detail.slice(0, 200)}`, { err: detail, failures: ctx.failures, retryIn: wait }, "onebot12: get_latest_events step failed; backing off");
      o.onTrouble(detail);
      return step(wait);
    },
  });
  return chain.done.then(() => end);
}
