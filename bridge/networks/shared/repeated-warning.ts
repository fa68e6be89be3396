// A warning that a misbehaving peer can make us repeat thousands of times a second (the same bad
// answer served again and again) is logged once, then at most once per interval with the count
// of repeats it stood for, so a hostile server cannot fill the disk with our logs.
import type { Logger } from "pino";

export class RepeatedWarning {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #seen = new Map<string, { at: number; repeats: number }>();

  constructor(log: Logger, opts: { intervalMs?: number; now?: () => number } = {}) {
    this.#log = log;
    this.#intervalMs = opts.intervalMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Logs `msg` unless the same `key` was logged less than the interval ago; returns whether it logged. */
  warn(key: string, obj: Record<string, unknown>, msg: string): boolean {
    const now = this.#now();
    const s = this.#seen.get(key);
    if (s && now - s.at < this.#intervalMs) {
      s.repeats += 1;
      return false;
    }
    this.#log.warn(s?.repeats ? { ...obj, repeated: s.repeats } : obj, msg);
    this.#seen.delete(key); // re-inserted last: the map is kept in logging order for the bound below
    this.#seen.set(key, { at: now, repeats: 0 });
    if (this.#seen.size > 1000) this.#seen.delete(this.#seen.keys().next().value!);
    return true;
  }
}
