// How long to wait before trying a refused token again. A refused token does not fix itself (its
// operator must), so the waits are long: `base` after the first refusal, doubling up to `cap`.
// The ceiling of the project's one backoff, without jitter: one refusal at a time, no herd.
import { backoffCap } from "../../../src/index.ts";

export function authRetryDelay(failures: number, base: number, cap: number): number {
  return backoffCap(Math.max(1, failures), { min: base, max: cap, factor: 2 });
}
