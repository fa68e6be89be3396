// One undici Pool per origin for short requests, and a separate one for long polls, so a short
// request never queues behind parked polls (undici queues FIFO behind busy connections).
import { type Dispatcher, Pool } from "undici";
import { bodyLimit } from "./interceptors/body-limit.ts";
import { requestSent } from "./interceptors/request-sent.ts";
import type { OriginStats } from "./types.ts";

export interface LaneOptions {
  connections: number;
  /** null: one connection per parked poll. */
  longPollConnections: number | null;
  http2Origins: ReadonlySet<string>;
  /** The response body cap of requests that set none. */
  maxBodySize: number;
}

export class Lane {
  readonly origin: string;
  readonly short: Dispatcher;
  readonly stats: OriginStats = { inFlight: 0, parked: 0, completed: 0, retried: 0, failed: 0 };
  private long: Dispatcher | undefined;
  private readonly opts: LaneOptions;

  constructor(origin: string, opts: LaneOptions) {
    this.origin = origin;
    this.opts = opts;
    this.short = this.pool(opts.connections);
  }

  /** The long-poll pool, made on first use: most origins never need one. */
  get longPoll(): Dispatcher {
    this.long ??= this.pool(this.opts.longPollConnections);
    return this.long;
  }

  private pool(connections: number | null): Dispatcher {
    const h2 = this.opts.http2Origins.has(this.origin);
    const options: Pool.Options & { useH2c?: boolean } = { connections, allowH2: h2 };
    // Plain-http origins listed for HTTP/2 speak h2c (prior knowledge). undici's Pool reads this
    // top-level option for its connector; its types only list it under h2Options.
    if (h2 && this.origin.startsWith("http:")) options.useH2c = true;
    return new Pool(this.origin, options).compose(bodyLimit({ maxBodySize: this.opts.maxBodySize }), requestSent());
  }

  close(): Promise<void> {
    const closing = [this.short.close()];
    if (this.long !== undefined) closing.push(this.long.close());
    return Promise.all(closing).then(() => undefined);
  }

  destroy(): Promise<void> {
    const destroying = [this.short.destroy()];
    if (this.long !== undefined) destroying.push(this.long.destroy());
    return Promise.all(destroying).then(() => undefined);
  }
}

export class Lanes {
  private readonly byOrigin = new Map<string, Lane>();
  private readonly opts: LaneOptions;

  constructor(opts: LaneOptions) {
    this.opts = opts;
  }

  get(origin: string): Lane {
    let lane = this.byOrigin.get(origin);
    if (lane === undefined) {
      lane = new Lane(origin, this.opts);
      this.byOrigin.set(origin, lane);
    }
    return lane;
  }

  all(): IterableIterator<Lane> {
    return this.byOrigin.values();
  }

  close(): Promise<void> {
    return Promise.all(Array.from(this.byOrigin.values(), (l) => l.close())).then(() => undefined);
  }

  destroy(): Promise<void> {
    return Promise.all(Array.from(this.byOrigin.values(), (l) => l.destroy())).then(() => undefined);
  }
}
