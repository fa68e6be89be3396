// The poll2 long-poll chain (protocols.md §1.4): re-armed after every answer, and only after every
// message of the answer went through the sink (the next poll acknowledges them).
import type { Logger } from "pino";
import { backoffDelay, classifyFailure, type HTTPStream, type Step, type StepContext, type StreamResponse } from "../../../src/index.ts";
import { buddiesRequest, poll2Request, readResult, type Tokens } from "./api.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import type { Endpoints } from "./endpoints.ts";
import { classifyPoll } from "./retcode.ts";

/** Retcode failures in a row after which the session is considered lost (Mojo: more than 3). */
export const MAX_POLL_FAILURES = 3;

export interface PollerOptions {
  stream: HTTPStream;
  ep: Endpoints;
  log: Logger;
  tokens: () => Tokens;
  /** Expected server hold (ms); the request times out a margin above it. */
  hold: number;
  backoff: { min: number; max: number };
  signal: AbortSignal;
  /** Handles one answer's items in order; resolves once all are durable, with how many were usable. */
  onItems: (items: unknown[]) => Promise<number>;
  /** 116: the new ptwebqq. */
  onRotate: (ptwebqq: string) => Promise<void>;
  /** poll2 answered as the protocol does (messages, idle, 116, 103): the network is online. */
  onAnswer: () => void;
  /** poll2 failed (unreachable, reset, 5xx, unreadable): the network is not receiving right now. */
  onTrouble: (state: "offline" | "retrying", detail: string) => void;
  /** Warnings a server can make us repeat go through it (once per minute, with a count). */
  warnings: RepeatedWarning;
}

export type PollEnd = { reason: "relogin"; detail: string } | { reason: "stopped" };

/** timeout = hold + a margin (half the hold, 1–30 s): above the server's hold, never far above. */
export function pollTimeout(hold: number): number {
  return hold + Math.min(30_000, Math.max(1_000, Math.round(hold / 2)));
}

/** Idle answers in a row that came back at once (not held) before the poll backs off. */
export const MAX_QUICK_IDLES = 3;

/** Starts the poll chain; resolves when it ends: the session is gone, or the signal aborted. */
export function runPoller(o: PollerOptions): Promise<PollEnd> {
  let end: PollEnd = { reason: "stopped" };
  let retcodeFailures = 0; // toward a re-login
  let badAnswers = 0; // toward a longer backoff
  let warmups = 0; // 103 again right after a warm-up: the session is not coming back
  let quickIdles = 0; // idle answers in a row that the server did not hold
  let sentAt = 0; // when the current poll went out (about: its delay is added)
  const timeout = pollTimeout(o.hold);
  // A real server holds an idle poll for about a minute; one that answers "nothing" at once,
  // again and again, would make us spin.
  const quick = Math.min(1_000, Math.max(1, Math.floor(o.hold / 4)));

  const step = (delay = 0): Step => {
    sentAt = Date.now() + delay;
    return { request: poll2Request(o.ep, o.tokens(), timeout), readback, delay };
  };

  const backoffStep = (failures: number): Step => step(backoffDelay(failures, o.backoff) || 1);

  async function readback(res: StreamResponse, ctx: StepContext): Promise<Step | undefined> {
    const action = classifyPoll(res.status, await res.text());
    if (action.kind === "failure") o.onTrouble("retrying", action.reason);
    else o.onAnswer();
    switch (action.kind) {
      case "messages": {
        quickIdles = 0;
        const usable = await o.onItems(action.items);
        // An answer whose every item was rejected is one we cannot use: back off, never spin on it.
        if (action.items.length > 0 && usable === 0) {
          badAnswers++;
          o.warnings.warn("poll2:unusable", { items: action.items.length, failures: badAnswers }, "webqq: poll2 answered only unusable items; backing off");
          return backoffStep(badAnswers);
        }
        retcodeFailures = badAnswers = warmups = 0;
        return step();
      }
      case "idle":
      case "ignored":
        retcodeFailures = warmups = 0;
        if (Date.now() - sentAt >= quick) quickIdles = badAnswers = 0;
        else if (++quickIdles >= MAX_QUICK_IDLES) {
          badAnswers++;
          o.warnings.warn("poll2:quick idle", { inARow: quickIdles, failures: badAnswers }, "webqq: poll2 answers 'nothing' at once without holding; backing off");
          return backoffStep(badAnswers);
        }
        return step();
      case "rotate":
        o.log.info("webqq: ptwebqq rotated (116)");
        await o.onRotate(action.ptwebqq);
        return step();
      case "warmup":
        if (++warmups > 2) {
          end = { reason: "relogin", detail: "poll2 keeps answering 103 after the warm-up" };
          return undefined;
        }
        o.log.info("webqq: poll2 said 103; warming up with get_online_buddies2");
        await readResult(await o.stream.request(buddiesRequest(o.ep, o.tokens()), { signal: ctx.signal }), "get_online_buddies2");
        return step();
      case "relogin":
        end = { reason: "relogin", detail: `poll2 retcode ${action.retcode}` };
        return undefined;
      case "failure":
        if (action.retcode !== undefined && ++retcodeFailures > MAX_POLL_FAILURES) {
          end = { reason: "relogin", detail: `${retcodeFailures} poll2 failures in a row (last: ${action.reason})` };
          return undefined;
        }
        // A malformed body or an HTML error page is not the session's fault: back off, poll again.
        badAnswers++;
        o.warnings.warn(`poll2:${action.reason}`, { reason: action.reason, failures: badAnswers }, "webqq: poll2 failed; backing off");
        return backoffStep(badAnswers);
    }
  }

  const first = step();
  const chain = o.stream.add(first.request, first.readback, {
    name: "webqq poll2",
    signal: o.signal,
    onError: (err: unknown, _failed: Step, ctx: StepContext) => {
      // Transport failures after HTTPStream's own retries, a warm-up that failed, a sink that
      // threw past its retries: the chain stays alive and backs off.
      o.warnings.warn(`poll2 step:${(err as Error).message}`, { err: (err as Error).message, failures: ctx.failures }, "webqq: poll2 step failed; backing off");
      o.onTrouble(classifyFailure(err) === "before-send" ? "offline" : "retrying", `poll2: ${(err as Error).message}`);
      return backoffStep(ctx.failures);
    },
  });
  return chain.done.then(() => end);
}
