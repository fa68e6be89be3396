// Which failures are retried, and how long to wait: pure functions, property-tested.
import { HTTPStatusError } from "./errors.ts";
import { wasRequestSent } from "./interceptors/request-sent.ts";
import type { RetryOptions } from "./types.ts";

export const DEFAULT_RETRY: Readonly<Required<RetryOptions>> = Object.freeze({
  retries: 5,
  minTimeout: 500,
  maxTimeout: 30_000,
  factor: 2,
  maxRetryAfter: 60_000,
  statuses: [408, 425, 429, 500, 502, 503, 504],
});

/** Failures that happen before a single byte of the request left: safe to retry for any method. */
const BEFORE_SEND = new Set([
  "ECONNREFUSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
]);

/** Transport failures after the request may have been sent: retried for idempotent or retrySafe requests. */
const AFTER_SEND = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

const MAX_TIMER = 2 ** 31 - 1;

export type FailureKind = "before-send" | "transport" | "status" | "other";

/** The error code of err, its cause, or the first of an AggregateError's errors. */
function errorCode(err: unknown, depth: number): string | undefined {
  if (err === null || typeof err !== "object" || depth > 4) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === "string" && (BEFORE_SEND.has(e.code) || AFTER_SEND.has(e.code))) return e.code;
  if (e.cause !== undefined) {
    const c = errorCode(e.cause, depth + 1);
    if (c !== undefined) return c;
  }
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0], depth + 1);
  return typeof e.code === "string" ? e.code : undefined;
}

/** The `requestSent` flag of err or of an error it wraps (cause, an AggregateError's first). */
function sentFlag(err: unknown, depth: number): boolean | undefined {
  if (err === null || typeof err !== "object" || depth > 4) return undefined;
  const own = wasRequestSent(err);
  if (own !== undefined) return own;
  const e = err as { cause?: unknown; errors?: unknown };
  if (e.cause !== undefined) {
    const c = sentFlag(e.cause, depth + 1);
    if (c !== undefined) return c;
  }
  if (Array.isArray(e.errors) && e.errors.length > 0) return sentFlag(e.errors[0], depth + 1);
  return undefined;
}

/**
 * Sorts a failure: "before-send" (the request never reached the server whole), "transport" (reset,
 * closed, timeout after it may have), "status", or "other" (aborts, bad input, unknown errors).
 * A network failure carrying `requestSent` (HTTPStream's errors all do) is sorted by it; without
 * it, by its code: connect and DNS failures are before-send.
 */
export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof HTTPStatusError) return "status";
  const code = errorCode(err, 0);
  if (code === undefined) return "other";
  const before = BEFORE_SEND.has(code);
  if (!before && !AFTER_SEND.has(code)) return "other";
  const sent = sentFlag(err, 0);
  if (sent !== undefined) return sent ? "transport" : "before-send";
  return before ? "before-send" : "transport";
}

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/**
 * The one retry policy (HTTPStream's engine calls it for every failed attempt). Before-send
 * failures: any method. Transport failures and retryable statuses: idempotent methods, or any
 * method when the request declares `retrySafe`. Aborts, bad input and unknown errors: never.
 */
export function isRetryable(
  err: unknown,
  request: { method?: string; retrySafe?: boolean },
  statuses: readonly number[] = DEFAULT_RETRY.statuses,
): boolean {
  const kind = classifyFailure(err);
  if (kind === "before-send") return true;
  if (kind === "other") return false;
  if (kind === "status" && !statuses.includes((err as HTTPStatusError).status)) return false;
  return request.retrySafe === true || isIdempotent((request.method ?? "GET").toUpperCase());
}

/**
 * The ceiling of attempt `attempt` (from 1): min(max, min·factor^(attempt−1)). The deterministic
 * part of backoffDelay, for waits that must not be random (e.g. a refused credential).
 */
export function backoffCap(attempt: number, opts: { min: number; max: number; factor?: number }): number {
  const factor = opts.factor ?? 2;
  const n = attempt < 1 || !Number.isFinite(attempt) ? 1 : attempt;
  // min 0 stays 0 even when factor^(n−1) overflows to Infinity (0·Infinity is NaN).
  const grown = opts.min === 0 ? 0 : opts.min * factor ** (n - 1);
  const cap = Math.min(opts.max, grown);
  if (Number.isNaN(cap)) return opts.max > 0 ? opts.max : 0;
  return cap > 0 ? cap : 0;
}

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(max, min·factor^(attempt−1))].
 * attempt counts from 1 (the wait before the first retry). The one backoff of the project.
 */
export function backoffDelay(attempt: number, opts: { min: number; max: number; factor?: number }, random: () => number = Math.random): number {
  const cap = backoffCap(attempt, opts);
  if (!(cap > 0)) return 0;
  // setTimeout cannot hold more than 2^31−1 ms; beyond it fires at once.
  return Math.floor(random() * Math.min(cap, MAX_TIMER));
}

/** Waits `ms`; an abort of `signal` rejects with the signal's own reason. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, Math.min(ms, MAX_TIMER));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Retry-After (delta seconds or an HTTP date) in ms from `now`; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === "") return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its day and month; Date.parse alone would take "-5" as a year.
  if (!/^[A-Za-z]{3},? /.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The wait before retry `attempt`: the backoff, raised to the server's Retry-After (capped). */
export function retryWait(attempt: number, err: unknown, opts: Readonly<RetryOptions>, random?: () => number): number {
  const wait = backoffDelay(attempt, { min: opts.minTimeout, max: opts.maxTimeout, factor: opts.factor }, random);
  const after = err instanceof HTTPStatusError ? err.retryAfter : undefined;
  if (after === undefined) return wait;
  return Math.max(wait, Math.min(after, opts.maxRetryAfter));
}
