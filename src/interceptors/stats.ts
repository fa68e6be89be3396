// Counts requests per origin as they cross the dispatcher: in flight (until the response headers
// or the failure), parked (the long polls among them: dispatch option `longPoll: true`), and
// responses received (each redirect hop and retried status counts). `retried` and `failed` belong
// to whoever retries above the dispatcher; they live in the same record so one object tells all.
// Usable alone: `const s = new DispatchStats(); new Agent().compose(stats(s))`.
import type { Dispatcher } from "undici";
import type { OriginStats } from "../types.ts";
import { originOf } from "./dispatch-options.ts";
import { type Controller, ForwardingHandler, type Handler, type Headers } from "./forwarding-handler.ts";

export class DispatchStats {
  readonly origins = new Map<string, OriginStats>();

  /** The record of an origin ("http://host:port"), made on first use. */
  of(origin: string): OriginStats {
    let s = this.origins.get(origin);
    if (s === undefined) {
      s = { inFlight: 0, parked: 0, completed: 0, retried: 0, failed: 0 };
      this.origins.set(origin, s);
    }
    return s;
  }
}

/** Dispatch options this interceptor reads. */
export interface StatsDispatchOptions {
  /** Counted as parked while it waits for its answer. */
  longPoll?: boolean;
}

class Counted extends ForwardingHandler {
  private readonly record: OriginStats;
  private readonly longPoll: boolean;
  private settled = false;

  constructor(next: Handler, record: OriginStats, longPoll: boolean) {
    super(next);
    this.record = record;
    this.longPoll = longPoll;
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.record.inFlight--;
    if (this.longPoll) this.record.parked--;
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (statusCode >= 200) {
      this.settle();
      this.record.completed++;
    }
    this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  override onResponseError(controller: Controller, error: Error): void {
    this.settle();
    this.next.onResponseError?.(controller, error);
  }
}


export function stats(recorder: DispatchStats): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function dispatchCounted(opts: Dispatcher.DispatchOptions & StatsDispatchOptions, handler: Handler): boolean {
      const record = recorder.of(originOf(opts.origin));
      const longPoll = opts.longPoll === true;
      record.inFlight++;
      if (longPoll) record.parked++;
      return dispatch(opts, new Counted(handler, record, longPoll));
    };
}
