// How long to wait before trying a refused token again. A refused token does not fix itself (its
// operator must), so the waits are long: `base` after the first refusal, doubling up to `cap`.
export function authRetryDelay(failures: number, base: number, cap: number): number {
  return Math.min(cap, base * 2 ** Math.min(Math.max(0, failures - 1), 10));
}
