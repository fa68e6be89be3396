// What an event source (long poll, SSE) needs from the adapter, and the status/backoff rules
// they share: auth failures back off long, other failures back off short, a success resets both.
import type { Logger } from "pino";
import { backoffDelay, classifyFailure, redactError, type HTTPStream, type Step, type StepContext } from "../../../src/index.ts";
import { RepeatedWarning } from "../shared/repeated-warning.ts";
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
  /** Long-poll hold asked of the server (s); SSE: the silence after which a stream is presumed dead is thrice it. */
  pollTimeoutSeconds: number;
  setStatus: (state: string, detail?: string) => void;
  /** Fills the gap of a stream that was closed from history (SSE has no replay). */
  catchUp?: () => Promise<void>;
}

/** Consecutive failures of one source, by kind, and the delay before its next request. */
export class FailureCount {
  private auth = 0;
  private other = 0;
  private readonly ctx: SourceContext;
  /** A server that keeps failing the same way is logged once a minute, with the count. */
  private readonly repeated: RepeatedWarning;
  constructor(ctx: SourceContext) {
    this.ctx = ctx;
    this.repeated = new RepeatedWarning(ctx.log);
  }
  ok(): void {
    this.auth = this.other = 0;
  }
  /** 401/403: status auth-failed; the returned delay is long. */
  authFailed(detail: string): number {
    const wait = this.ctx.authWait(++this.auth);
    this.ctx.setStatus("auth-failed", detail);
    this.ctx.log.error({ detail, retryIn: wait }, "onebot11: the server refused the access token; check access_token");
    return wait;
  }
  /** Anything else: status `state`, a short growing backoff. */
  failed(state: string, detail: string): number {
    const wait = backoffDelay(++this.other, this.ctx.backoff) || 1;
    this.ctx.setStatus(state, detail);
    this.repeated.warn(`failed:${state}:${detail}`, { detail, failures: this.other, retryIn: wait }, "onebot11: event source failed; backing off");
    return wait;
  }
}

/** The chain error policy of a source: transport failures (after HTTPStream's retries) back off. */
export function onSourceError(ctx: SourceContext, failures: FailureCount, name: string) {
  return (err: unknown, step: Step, _sctx: StepContext): Step => {
    const unreachable = classifyFailure(err) === "before-send";
    const detail = `${name}: ${String(redactError(err, ctx.target.token ? [ctx.target.token] : []).message)}`;
    return { ...step, delay: failures.failed(unreachable ? "offline" : "retrying", detail) };
  };
}
