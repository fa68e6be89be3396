// Delivered items and dedupe keys are kept a while (late reflections, redeliveries), then
// forgotten: on a schedule, so that a bridge that runs for months does not grow its database.
import type { Outbox } from "./outbox.ts";

export interface PruneSchedule {
  stop(): void;
}

/** The id map keeps a message's ids this long by default (relay.id_map_max_age): 30 days. */
export const DEFAULT_ID_MAP_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/**
 * Prunes every `everyMs` (not at once: the caller prunes at start, before it reads the outbox).
 * `keepIdsMs`: how long the id map keeps a message's ids (default 30 days).
 */
export function schedulePrune(outbox: Outbox, opts: { keepMs: number; keepIdsMs?: number; everyMs: number; onPruned?: () => void; onError: (err: unknown) => void }): PruneSchedule {
  const prune = () => {
    try {
      outbox.prune(Date.now() - opts.keepMs, Date.now() - (opts.keepIdsMs ?? DEFAULT_ID_MAP_MAX_AGE_MS));
    } catch (err) {
      // A busy or full disk must not crash the bridge from a timer: the next round tries again.
      opts.onError(err);
      return;
    }
    opts.onPruned?.();
  };
  // unref: the schedule never keeps the process alive on its own.
  const timer = setInterval(prune, opts.everyMs).unref();
  return { stop: () => clearInterval(timer) };
}
