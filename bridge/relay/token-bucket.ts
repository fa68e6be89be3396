// A token bucket per target: sends beyond the burst wait for tokens; nothing is ever dropped.
import { setTimeout as delay } from "node:timers/promises";

export interface TokenBucketOptions {
  perSecond: number;
  burst: number;
  /** Injected for tests; default Date.now / a timer. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

export class TokenBucket {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #tokens: number;
  #at: number;
  #tail: Promise<void> = Promise.resolve();

  constructor(opts: TokenBucketOptions) {
    if (!(opts.perSecond > 0) || !(opts.burst >= 1)) throw new RangeError(`rate must have per_second > 0 and burst >= 1`);
    this.#perSecond = opts.perSecond;
    this.#burst = opts.burst;
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? defaultSleep;
    this.#tokens = opts.burst;
    this.#at = this.#now();
  }

  /** Resolves when one token was taken. Callers are served in call order. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#tail.then(() => this.#takeNow(signal));
    this.#tail = turn.catch(() => {});
    return turn;
  }

  async #takeNow(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#perSecond) / 1000);
      this.#at = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await this.#sleep(Math.ceil(((1 - this.#tokens) * 1000) / this.#perSecond), signal);
    }
  }
}
