// Checks HTTPStreamOptions up front: a bad number would otherwise surface on the first request,
// deep inside a retry loop.
import { RequestSpecError } from "./errors.ts";
import type { HTTPStreamOptions } from "./types.ts";

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new RequestSpecError(`HTTPStream option ${what}: got ${JSON.stringify(value) ?? String(value)}`);
}

const isCount = (v: unknown): boolean => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isPositive = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v > 0;
const isMs = (v: unknown): boolean => typeof v === "number" && !Number.isNaN(v) && v >= 0;

export function validateOptions(opts: HTTPStreamOptions): void {
  if (opts.connections !== undefined) check(isCount(opts.connections) && opts.connections > 0, "connections must be a positive integer", opts.connections);
  if (opts.longPollConnections !== undefined) {
    check(isCount(opts.longPollConnections) && opts.longPollConnections > 0, "longPollConnections must be a positive integer", opts.longPollConnections);
  }
  if (opts.maxBodySize !== undefined) check(isPositive(opts.maxBodySize) || opts.maxBodySize === Infinity, "maxBodySize must be a positive number of bytes", opts.maxBodySize);
  if (opts.timeout !== undefined) check(isPositive(opts.timeout), "timeout must be a positive number of ms", opts.timeout);
  const r = opts.retry;
  if (r !== undefined) {
    if (r.retries !== undefined) check(isCount(r.retries), "retry.retries must be a non-negative integer", r.retries);
    for (const key of ["minTimeout", "maxTimeout", "maxRetryAfter"] as const) {
      if (r[key] !== undefined) check(isMs(r[key]), `retry.${key} must be a non-negative number of ms`, r[key]);
    }
    if (r.factor !== undefined) check(isPositive(r.factor), "retry.factor must be a positive number", r.factor);
    if (r.statuses !== undefined) check(Array.isArray(r.statuses) && r.statuses.every((s) => isCount(s) && s >= 100 && s <= 599), "retry.statuses must list HTTP statuses", r.statuses);
  }
  const b = opts.chainBackoff;
  if (b !== undefined) {
    if (b.min !== undefined) check(isMs(b.min), "chainBackoff.min must be a non-negative number of ms", b.min);
    if (b.max !== undefined) check(isMs(b.max), "chainBackoff.max must be a non-negative number of ms", b.max);
  }
  if (opts.secrets !== undefined) check(Array.isArray(opts.secrets) && opts.secrets.every((s) => typeof s === "string"), "secrets must be a list of strings", "[…]");
}
