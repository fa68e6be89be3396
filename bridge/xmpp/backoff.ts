// Reconnect and rejoin delays: exponential backoff with full jitter, so that many bridges
// restarted together do not hit a server in lockstep. The one backoff of the project
// (src/retry.ts backoffDelay), counted from 0 here and never 0 ms (a timer of 0 would spin).
import { backoffDelay } from "../../src/index.ts";

export interface BackoffBounds {
  min: number;
  max: number;
}

/** Delay before retry number `attempt` (0-based): uniform in [0, min(max, min·2^attempt)], at least 1 ms. */
export function fullJitter(attempt: number, bounds: BackoffBounds, random: () => number = Math.random): number {
  return Math.max(1, backoffDelay(attempt + 1, bounds, random));
}
