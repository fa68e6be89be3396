// Waiting on a simulator's state without the clock: re-check on the events that change it.
import type { EventEmitter } from "node:events";

/**
 * Resolves with `check()`'s value once it is defined: at once, or after one of `events` on
 * `emitter`. Rejects with the signal's reason when it aborts first.
 */
export function waitFor<T>(emitter: EventEmitter, check: () => T | undefined, events: readonly string[], signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (): void => {
      const v = check();
      if (v === undefined) return;
      cleanup();
      resolve(v);
    };
    const onAbort = (): void => {
      cleanup();
      reject(signal!.reason);
    };
    const cleanup = (): void => {
      for (const e of events) emitter.off(e, onEvent);
      signal?.removeEventListener("abort", onAbort);
    };
    for (const e of events) emitter.on(e, onEvent);
    signal?.addEventListener("abort", onAbort, { once: true });
    onEvent();
  });
}

/** The list once it holds `n` or more (a waitFor check), else undefined. */
export function atLeast<T>(list: T[], n: number): T[] | undefined {
  return list.length >= n ? list : undefined;
}
