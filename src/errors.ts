// Errors HTTPStream raises itself. Messages carry redacted URLs only.

/** A retryable status (e.g. 503) that was still returned after every retry. */
export class HTTPStatusError extends Error {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Redacted URL of the request. */
  readonly url: string;
  /** Retry-After of the last response in ms (uncapped), if it had one. */
  readonly retryAfter: number | undefined;
  /** The server answered: the request reached it. */
  requestSent = true;
  constructor(status: number, headers: Record<string, string | string[] | undefined>, redactedUrl: string, retryAfter: number | undefined) {
    super(`HTTP ${status} from ${redactedUrl}`);
    this.name = "HTTPStatusError";
    this.status = status;
    this.headers = headers;
    this.url = redactedUrl;
    this.retryAfter = retryAfter;
  }
}

/** More redirects than the request's `maxRedirects`, or a redirect without a usable Location. */
export class RedirectError extends Error {
  readonly url: string;
  /** A redirect was answered: the request reached the server. */
  requestSent = true;
  constructor(message: string, redactedUrl: string) {
    super(`${message}: ${redactedUrl}`);
    this.name = "RedirectError";
    this.url = redactedUrl;
  }
}

/** add() or request() on a stream that is closing or closed. */
export class StreamClosedError extends Error {
  constructor() {
    super("HTTPStream is closed");
    this.name = "StreamClosedError";
  }
}

/** A RequestSpec that cannot be sent (bad URL, two bodies, unsupported protocol). */
export class RequestSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RequestSpecError";
  }
}

/** A response body larger than the request's `maxBodySize`: the connection was closed at the cap. */
export class BodyTooLargeError extends Error {
  readonly code = "ERR_BODY_TOO_LARGE";
  readonly limit: number;
  /** The Content-Length the server declared, when that is how the excess was known. */
  readonly declared: number | undefined;
  /** The server answered: the request reached it. */
  requestSent = true;
  constructor(limit: number, where: string, declared: number | undefined) {
    super(`response body larger than maxBodySize ${limit} bytes${declared === undefined ? "" : ` (Content-Length ${declared})`} from ${where}`);
    this.name = "BodyTooLargeError";
    this.limit = limit;
    this.declared = declared;
  }
}
