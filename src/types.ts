// The public contract of HTTPStream. Everything here is a type; the engine lives beside it.
import type { Logger } from "pino";
import type { CookieJar } from "tough-cookie";
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";

export type Query = Record<string, string | number | boolean | undefined | null>;

/** One HTTP request of a chain. Plain data, so a readback can return the same object again. */
export interface RequestSpec {
  method?: string; // default GET (POST when form/json/body is given)
  url: string | URL;
  query?: Query; // appended to url's search params
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  form?: Record<string, string>; // application/x-www-form-urlencoded
  json?: unknown; // application/json
  /** Parked request (long poll): goes to the long-poll lane, never blocks short requests. */
  longPoll?: boolean;
  /** Whole-request timeout in ms (headers + body). Long polls: hold time + margin. */
  timeout?: number;
  /** Retry a non-idempotent method even after it was sent (the server dedupes, or it is harmless). */
  retrySafe?: boolean;
  /** false: no retries for this request. Or override the stream's retry options. */
  retry?: false | Partial<RetryOptions>;
  /** Redirects followed by HTTPStream itself (cookies kept from every hop). Default 10; 0: none. */
  maxRedirects?: number;
  /** Strings that must never appear in logs (tokens, session ids); they are redacted. */
  secrets?: string[];
  /** A short label for logs and stats (default: method + path). */
  name?: string;
  /**
   * Cap on the response body in bytes (default: the stream's `maxBodySize`, 8 MiB). A larger body
   * fails with BodyTooLargeError and its connection is closed. Infinity: no cap. A
   * `text/event-stream` response is exempt from the stream's default, not from this.
   */
  maxBodySize?: number;
}

/** A response handed to a readback. The body is read at most once (text, json, or body). */
export interface StreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Final URL after redirects. */
  readonly url: string;
  readonly request: RequestSpec;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
  bytes(): Promise<Uint8Array>;
  /** Raw body stream (for SSE and large bodies). */
  readonly body: Readable;
}

export interface StepContext {
  /** The chain this step belongs to. */
  readonly chain: ChainHandle;
  /** Aborts when the chain is cancelled or the stream closes. */
  readonly signal: AbortSignal;
  /** Child logger of the chain. */
  readonly log: Logger;
  /** Consecutive failures of this chain before this step (0 after a success). */
  readonly failures: number;
}

export type Readback = (res: StreamResponse, ctx: StepContext) => StepResult | Promise<StepResult>;

export interface Step {
  request: RequestSpec;
  /** Without a readback the response is sent, drained and discarded. */
  readback?: Readback;
  /** ms to wait before sending; never blocks anything else. */
  delay?: number;
}

/**
 * What a readback returns: the next step, several, or nothing. Several (a fan-out) run as strands
 * of the same chain, each with its own failure count; the chain ends when every strand has ended.
 */
export type StepResult = Step | Step[] | void | null | undefined;

/** What happens when a step fails after its retries, or its readback throws. */
export type ErrorPolicy =
  | "retry" // default: log, back off (growing with consecutive failures), run the step again
  | "end" // end the chain; done rejects with the error
  | ((err: unknown, step: Step, ctx: StepContext) => StepResult | Promise<StepResult>);

export interface ChainOptions {
  delay?: number;
  signal?: AbortSignal;
  name?: string;
  onError?: ErrorPolicy;
}

export interface ChainHandle {
  readonly id: number;
  readonly name: string;
  cancel(reason?: unknown): void;
  /** Resolves when the chain ends (readback returned nothing, or cancelled); rejects on policy "end". */
  readonly done: Promise<void>;
}

export interface RetryOptions {
  retries: number; // attempts after the first; default 5
  minTimeout: number; // ms, default 500
  maxTimeout: number; // ms, default 30_000
  factor: number; // default 2
  maxRetryAfter: number; // cap for Retry-After in ms, default 60_000
  /** Statuses retried (default 408, 425, 429, 500, 502, 503, 504); [] hands every status to the readback. */
  statuses?: number[];
}

export interface HTTPStreamOptions {
  logger?: Logger;
  cookies?: CookieJar;
  retry?: Partial<RetryOptions>;
  /** Connections per origin for short requests (default 16). */
  connections?: number;
  /** Connections per origin for long polls (default: unbounded, one per parked poll). */
  longPollConnections?: number;
  /** Origins (e.g. "https://host:443") that use HTTP/2 multiplexing. */
  http2Origins?: string[];
  /** Backoff for the "retry" error policy (consecutive chain failures). */
  chainBackoff?: { min: number; max: number };
  /** Default per-request timeout (ms) for short requests; default 30_000. */
  timeout?: number;
  headers?: Record<string, string>; // sent on every request (e.g. User-Agent)
  /**
   * Any undici Dispatcher (an Agent with TLS options, a ProxyAgent, a MockAgent): HTTPStream
   * composes its interceptors over it. Default: Lanes (a short and a long-poll pool per origin),
   * built from `connections`, `longPollConnections` and `http2Origins`, which are ignored when a
   * dispatcher is given. A given dispatcher is not closed by close().
   */
  dispatcher?: Dispatcher;
  /** The caller's own interceptors, run per hop below HTTPStream's (closest to the dispatcher). */
  interceptors?: Dispatcher.DispatcherComposeInterceptor[];
  /** Cap on response bodies in bytes for requests that set none (default 8 MiB; Infinity: none). */
  maxBodySize?: number;
  secrets?: string[];
  /** Called once per answered request (after retries and redirects): for metrics such as poll latency. */
  onResponse?: (info: ResponseInfo) => void;
}

export interface ResponseInfo {
  /** The request's `name`, or undefined. */
  name: string | undefined;
  /** Origin of the final URL, e.g. "https://host:443". */
  origin: string;
  status: number;
  longPoll: boolean;
  /** From the first attempt's send to the final response's headers, retries and redirects included. */
  ms: number;
}

export interface OriginStats {
  inFlight: number;
  parked: number;
  completed: number;
  retried: number;
  failed: number;
}

export interface StreamStats extends OriginStats {
  delayed: number;
  chains: number;
  origins: Record<string, OriginStats>;
}
