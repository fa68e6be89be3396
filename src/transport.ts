// Sends one RequestSpec through the composed dispatcher (cookies, redirects, request-sent
// tracking, body cap and stats are its interceptors) and retries it through p-retry.
import pRetry from "p-retry";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import type { AbortWire } from "./chain.ts";
import { HTTPStatusError } from "./errors.ts";
import { markRequestSent, wasRequestSent } from "./interceptors/request-sent.ts";
import type { DispatchStats } from "./interceptors/stats.ts";
import { redactError, redactUrl } from "./redact.ts";
import { type Hop, prepareHop } from "./request.ts";
import { type BodySource, discardBody, HTTPResponse } from "./response.ts";
import { abortableSleep, isIdempotent, isRetryable, parseRetryAfter, retryWait } from "./retry.ts";
import type { RequestSpec, RetryOptions } from "./types.ts";

export interface TransportOptions {
  dispatcher: Dispatcher;
  stats: DispatchStats;
  retry: Required<RetryOptions>;
  timeout: number;
  longPollTimeout: number;
  headers: Record<string, string>;
  secrets: string[];
  /** The stream's logger: its level decides whether redirects get debug lines. */
  log: Logger;
}

/** What undici listens on to abort an exchange: an AbortSignal, or an EventEmitter-shaped "abort" source. */
export type Wire = AbortSignal | AbortWire | undefined;

/** A request's first attempt under way: what its answer (or failure) is handled with. */
export interface Exchange {
  readonly spec: RequestSpec;
  readonly hop: Hop;
  readonly retry: Required<RetryOptions> | null;
  readonly wire: Wire;
  /** undici's answer to the first attempt. */
  pending: Promise<Dispatcher.ResponseData>;
}

/** Who a request is sent for: its cancellation signal and logger. */
export interface SendOwner {
  readonly signal: AbortSignal | undefined;
  readonly log: Logger;
}

/** Dispatch options HTTPStream's interceptors and Lanes read, beside undici's own. */
interface EngineDispatchOptions extends Dispatcher.RequestOptions {
  longPoll: boolean;
  maxBodySize: number | undefined;
  maxRedirects: number | undefined;
  onRedirect: ((info: { status: number; from: string; to: string }) => void) | undefined;
}

export class Transport {
  readonly retry: Required<RetryOptions>;
  readonly secrets: string[];
  private readonly dispatcher: Dispatcher;
  private readonly stats: DispatchStats;
  private readonly timeout: number;
  private readonly longPollTimeout: number;
  private readonly headers: Record<string, string>;
  private readonly log: Logger;

  constructor(opts: TransportOptions) {
    this.log = opts.log;
    this.dispatcher = opts.dispatcher;
    this.stats = opts.stats;
    this.retry = opts.retry;
    this.timeout = opts.timeout;
    this.longPollTimeout = opts.longPollTimeout;
    this.headers = opts.headers;
    this.secrets = opts.secrets;
  }

  /** Secrets to redact for this request: the stream's and the request's own. */
  secretsOf(spec: RequestSpec): string[] {
    return spec.secrets === undefined ? this.secrets : this.secrets.concat(spec.secrets);
  }

  /** The retry options of a request, or null when it is not retried at all. */
  private retryOf(spec: RequestSpec): Required<RetryOptions> | null {
    const r = spec.retry;
    if (r === undefined) return this.retry.retries > 0 ? this.retry : null;
    if (r === false) return null;
    const merged = { ...this.retry, ...r } as Required<RetryOptions>;
    return merged.retries > 0 ? merged : null;
  }

  /**
   * Sends a request with its retries. `wire` is what undici listens on to abort an exchange (a
   * chain passes its light AbortWire); `owner.signal` (retry waits) and `owner.log` are read only
   * when needed. A chain's strand runs these same steps (start, answered, recover) inline, so a
   * parked poll holds one async frame, not two.
   */
  async send(spec: RequestSpec, owner: SendOwner, wire: Wire): Promise<HTTPResponse> {
    const ex = this.start(spec, wire, owner);
    try {
      return this.answered(ex, await ex.pending);
    } catch (err) {
      return await this.recover(ex, err, owner);
    }
  }

  /** Prepares a request and dispatches its first attempt. Throws on a bad spec. */
  start(spec: RequestSpec, wire: Wire, owner: SendOwner): Exchange {
    const retry = this.retryOf(spec);
    const hop = prepareHop(spec, this.headers);
    const ex: Exchange = { spec, hop, retry, wire, pending: undefined as unknown as Promise<Dispatcher.ResponseData> };
    try {
      ex.pending = this.dispatch(hop, spec, wire, owner);
    } catch (err) {
      ex.pending = Promise.reject(err);
    }
    return ex;
  }

  /** The first attempt answered: a status to retry throws HTTPStatusError. */
  answered(ex: Exchange, data: Dispatcher.ResponseData): HTTPResponse {
    return this.respond(data, ex.hop, ex.spec, ex.retry);
  }

  /** After the first attempt failed (or its status is retried): the remaining attempts, or the error. */
  recover(ex: Exchange, err: unknown, owner: SendOwner): Promise<HTTPResponse> {
    return this.retryAfter(err, ex.hop, ex.spec, ex.retry, owner, ex.wire);
  }

  /**
   * After a failed first attempt: p-retry decides and runs the remaining attempts. The first
   * attempt's failure is fed to it as its attempt 1 (a request that succeeds at once never pays for
   * p-retry). `shouldRetry` is the one retry policy (`isRetryable`), and it waits the full-jitter
   * backoff (raised to Retry-After) itself, so p-retry's own delay is 0. The error that ends it
   * carries `requestSent`: true when any attempt may have reached the server.
   */
  private async retryAfter(first: unknown, hop: Hop, spec: RequestSpec, retry: Required<RetryOptions> | null, owner: SendOwner, wire: Wire): Promise<HTTPResponse> {
    const record = this.stats.of(hop.url.origin);
    let sent = wasRequestSent(first) === true;
    if (retry === null) {
      record.failed++;
      markRequestSent(first, sent);
      throw first;
    }
    const signal = owner.signal;
    const log = owner.log;
    const policy = { method: hop.method, retrySafe: spec.retrySafe };
    try {
      return await pRetry((attempt) => (attempt === 1 ? Promise.reject(first) : this.attempt(hop, spec, wire, retry, owner)), {
        retries: retry.retries,
        minTimeout: 0,
        signal,
        onFailedAttempt: ({ error }) => {
          if (wasRequestSent(error) === true) sent = true;
        },
        shouldRetry: async ({ error, attemptNumber }) => {
          if (!isRetryable(error, policy, retry.statuses)) return false;
          await this.waitBeforeRetry(attemptNumber, error, hop, spec, retry, signal, log);
          record.retried++;
          return true;
        },
      });
    } catch (err) {
      record.failed++;
      markRequestSent(err, sent || wasRequestSent(err) === true);
      throw err;
    }
  }

  private async waitBeforeRetry(retryNumber: number, err: unknown, hop: Hop, spec: RequestSpec, retry: Required<RetryOptions>, signal: AbortSignal | undefined, log: Logger): Promise<void> {
    const wait = retryWait(retryNumber, err, retry);
    if (log.isLevelEnabled("debug")) {
      const secrets = this.secretsOf(spec);
      log.debug({ url: redactUrl(hop.url.href, secrets), retry: retryNumber, wait, error: redactError(err, secrets) }, "retrying request");
    }
    if (wait > 0) await abortableSleep(wait, signal);
  }

  /** One retry attempt: dispatch and receive. */
  private async attempt(hop: Hop, spec: RequestSpec, wire: Wire, retry: Required<RetryOptions>, owner: SendOwner): Promise<HTTPResponse> {
    return this.respond(await this.dispatch(hop, spec, wire, owner), hop, spec, retry);
  }

  /** Sends a hop through the composed dispatcher. The owner's log is read only when debug is on. */
  private dispatch(hop: Hop, spec: RequestSpec, wire: Wire, owner: SendOwner): Promise<Dispatcher.ResponseData> {
    const longPoll = spec.longPoll === true;
    const timeout = spec.timeout ?? (longPoll ? this.longPollTimeout : this.timeout);
    const opts: EngineDispatchOptions = {
      origin: hop.url.origin,
      path: hop.url.path,
      method: hop.method as Dispatcher.HttpMethod,
      headers: hop.headers,
      body: hop.body,
      signal: wire as AbortSignal | undefined, // undici also takes the EventEmitter shape (see AbortWire)
      headersTimeout: timeout,
      bodyTimeout: timeout,
      longPoll,
      maxBodySize: spec.maxBodySize,
      maxRedirects: spec.maxRedirects,
      onRedirect: this.log.isLevelEnabled("debug") ? this.redirectLogger(spec, owner.log) : undefined,
    };
    return this.dispatcher.request(opts);
  }

  private redirectLogger(spec: RequestSpec, log: Logger): EngineDispatchOptions["onRedirect"] {
    const secrets = this.secretsOf(spec);
    return ({ status, from, to }) => log.debug({ status, from: redactUrl(from, secrets), to: redactUrl(to, secrets) }, "redirect");
  }

  /** Wraps the response; a status to retry throws HTTPStatusError. */
  private respond(data: Dispatcher.ResponseData, hop: Hop, spec: RequestSpec, retry: Required<RetryOptions> | null): HTTPResponse {
    const status = data.statusCode;
    const context = data.context as { redirectedTo?: string } | null | undefined;
    const url = context?.redirectedTo ?? hop.url.href;
    if (retry !== null && retry.statuses.includes(status) && (spec.retrySafe === true || isIdempotent(hop.method))) {
      void discardBody(data.body as unknown as BodySource);
      throw new HTTPStatusError(status, data.headers, redactUrl(url, this.secretsOf(spec)), parseRetryAfter(data.headers["retry-after"]));
    }
    return new HTTPResponse(status, data.headers, url, spec, data.body as unknown as BodySource);
  }
}
