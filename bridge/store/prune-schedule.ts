// Delivered items and dedupe keys are kept a while (late reflections, redeliveries), then
// forgotten: on a schedule, so that a bridge that runs for months does not grow its database.
import type { Outbox } from "./outbox.ts";

export interface PruneSchedule {
  stop(): void;
}

/** Prunes every `everyMs` (not at once: the caller prunes at start, before it reads the outbox). */
export function schedulePrune(outbox: Outbox, opts: { keepMs: number; everyMs: number; onPruned?: () => void; onError: (err: unknown) => void }): PruneSchedule {
  const prune = () => {
    try {
      outbox.prune(Date.now() - opts.keepMs);
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
