// Reconnect and rejoin delays: exponential backoff with full jitter, so that many bridges
// restarted together do not hit a server in lockstep.

export interface BackoffBounds {
  min: number;
  max: number;
}

/** Delay before retry number `attempt` (0-based): uniform in [0, min(max, min·2^attempt)], at least 1 ms. */
export function fullJitter(attempt: number, bounds: BackoffBounds, random: () => number = Math.random): number {
  const ceiling = Math.min(bounds.max, bounds.min * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.floor(random() * ceiling));
}
