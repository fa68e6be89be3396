// The default dispatcher of HTTPStream: per origin, one undici Pool for short requests and a
// separate one for long polls (dispatch option `longPoll: true`), so a short request never queues
// behind parked polls (undici queues FIFO behind busy connections). An undici Dispatcher like any
// other: compose() it, or hand it to anything that takes one.
import { Dispatcher, Pool } from "undici";
import { originOf } from "./interceptors/dispatch-options.ts";

export interface LanesOptions {
  /** Connections per origin for short requests (default 16). */
  connections?: number;
  /** Connections per origin for long polls (default null: one per parked poll). */
  longPollConnections?: number | null;
  /** Origins spoken to over HTTP/2; an http: origin here uses h2c (prior knowledge). */
  http2Origins?: Iterable<string>;
}

/** Dispatch options Lanes reads. */
export interface LanesDispatchOptions {
  longPoll?: boolean;
}

class Lane {
  readonly short: Pool;
  private long: Pool | undefined = undefined;
  private readonly origin: string;
  private readonly lanes: Lanes;

  constructor(origin: string, lanes: Lanes) {
    this.origin = origin;
    this.lanes = lanes;
    this.short = lanes.pool(origin, lanes.connections);
  }

  /** The long-poll pool, made on first use: most origins never need one. */
  get longPoll(): Pool {
    this.long ??= this.lanes.pool(this.origin, this.lanes.longPollConnections);
    return this.long;
  }

  pools(): Pool[] {
    return this.long === undefined ? [this.short] : [this.short, this.long];
  }
}


export class Lanes extends Dispatcher {
  readonly connections: number;
  readonly longPollConnections: number | null;
  private readonly http2Origins: ReadonlySet<string>;
  private readonly byOrigin = new Map<string, Lane>();
  private closed = false;

  constructor(opts: LanesOptions = {}) {
    super();
    this.connections = opts.connections ?? 16;
    this.longPollConnections = opts.longPollConnections ?? null;
    this.http2Origins = new Set(Array.from(opts.http2Origins ?? [], (o) => new URL(o).origin));
  }

  /** A pool for `origin`; HTTP/2 where the origin is listed. */
  pool(origin: string, connections: number | null): Pool {
    const h2 = this.http2Origins.has(origin);
    const options: Pool.Options & { useH2c?: boolean } = { connections, allowH2: h2 };
    // Plain-http origins listed for HTTP/2 speak h2c (prior knowledge). undici's Pool reads this
    // top-level option for its connector; its types only list it under h2Options.
    if (h2 && origin.startsWith("http:")) options.useH2c = true;
    return new Pool(origin, options);
  }

  override dispatch(opts: Dispatcher.DispatchOptions & LanesDispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = originOf(opts.origin);
    let lane = this.byOrigin.get(origin);
    if (lane === undefined) {
      if (this.closed) {
        handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, Object.assign(new Error("Lanes is closed"), { code: "UND_ERR_CLOSED" }));
        return false;
      }
      lane = new Lane(origin, this);
      this.byOrigin.set(origin, lane);
    }
    return (opts.longPoll === true ? lane.longPoll : lane.short).dispatch(opts, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.closed = true;
    const done = Promise.all(Array.from(this.byOrigin.values(), (l) => l.pools().map((p) => p.close())).flat()).then(() => undefined);
    if (callback === undefined) return done;
    void done.then(callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    this.closed = true;
    const err = typeof a === "function" ? null : (a ?? null);
    const callback = typeof a === "function" ? a : b;
    const done = Promise.all(Array.from(this.byOrigin.values(), (l) => l.pools().map((p) => p.destroy(err))).flat()).then(() => undefined);
    if (callback === undefined) return done;
    void done.then(callback);
  }
}
