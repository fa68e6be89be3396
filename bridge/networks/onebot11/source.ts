// What an event source (long poll, SSE) needs from the adapter. Their backoff is the network
// skeleton's (shared/failures.ts): auth failures back off long, others short, a success resets both.
import type { Logger } from "pino";
import { classifyFailure, redactError, type HTTPStream, type Step, type StepContext } from "../../../src/index.ts";
import type { Failures } from "../shared/failures.ts";
import type { ApiTarget } from "./api.ts";

/** Where a source hands its events (the inbound side, in arrival order). */
export interface EventIntake {
  /** Resolves once the event was handed to the sink (or was not for us). */
  handle(event: unknown): Promise<void>;
  /** Whether the event is a message of a configured group (kept until handled). */
  relevant(event: unknown): boolean;
}

export interface SourceContext {
  stream: HTTPStream;
  target: ApiTarget;
  log: Logger;
  signal: AbortSignal;
  inbound: EventIntake;
  backoff: { min: number; max: number };
  /** The wait after the n-th auth failure in a row (long: a wrong token does not fix itself). */
  authWait: (n: number) => number;
  /** A failure count of its own for one source. */
  newFailures: () => Failures;
  /** Long-poll hold asked of the server (s); SSE: the silence after which a stream is presumed dead is thrice it. */
  pollTimeoutSeconds: number;
  setStatus: (state: string, detail?: string) => void;
  /**
   * A poll answer shorter than its limit was handed to the sink: every event the server made
   * before `sentAt` (performance.now() when the poll went out) is delivered (echoesThrough).
   */
  onComplete?: (sentAt: number) => void;
  /** Fills the gap of a stream that was closed from history (SSE has no replay). */
  catchUp?: () => Promise<void>;
}

/** The chain error policy of a source: transport failures (after HTTPStream's retries) back off. */
export function onSourceError(ctx: SourceContext, failures: Failures, name: string) {
  return (err: unknown, step: Step, _sctx: StepContext): Step => {
    const unreachable = classifyFailure(err) === "before-send";
    const detail = `${name}: ${String(redactError(err, ctx.target.token ? [ctx.target.token] : []).message)}`;
    return { ...step, delay: failures.failed(unreachable ? "offline" : "retrying", detail, name) };
  };
}
