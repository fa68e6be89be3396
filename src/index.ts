// The public surface of HTTPStream.
export { HTTPStream } from "./http-stream.ts";
export { ChainCancelledError } from "./chain.ts";
export { HTTPStatusError, RedirectError, RequestSpecError, StreamClosedError } from "./errors.ts";
export { backoffDelay, classifyFailure, DEFAULT_RETRY, isIdempotent, isRetryable, parseRetryAfter, retryWait } from "./retry.ts";
export type { FailureKind } from "./retry.ts";
export { redactError, redactPaths, redactText, redactUrl } from "./redact.ts";
export type * from "./types.ts";
