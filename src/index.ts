// The public surface of HTTPStream.
export { HTTPStream } from "./http-stream.ts";
export { ChainCancelledError } from "./chain.ts";
export { BodyTooLargeError, HTTPStatusError, RedirectError, RequestSpecError, StreamClosedError } from "./errors.ts";
export { backoffCap, backoffDelay, classifyFailure, DEFAULT_RETRY, isIdempotent, isRetryable, parseRetryAfter, retryWait } from "./retry.ts";
export { markRequestSent, requestSent, wasRequestSent } from "./interceptors/request-sent.ts";
export { bodyLimit, DEFAULT_MAX_BODY_SIZE } from "./interceptors/body-limit.ts";
export type { BodyLimitDispatchOptions, BodyLimitOptions } from "./interceptors/body-limit.ts";
export type { FailureKind } from "./retry.ts";
export { redactError, redactPaths, redactText, redactUrl } from "./redact.ts";
export type * from "./types.ts";
