// Sends one RequestSpec: cookies in and out on every hop, redirects followed here (so no
// Set-Cookie on a 3xx is lost), retries through p-retry with full-jitter backoff.
import pRetry from "p-retry";
import type { Dispatcher } from "undici";
import type { Logger } from "pino";
import { type CookieJar, MemoryCookieStore } from "tough-cookie";
import type { AbortWire } from "./chain.ts";
import { HTTPStatusError, RedirectError } from "./errors.ts";
import { markRequestSent, wasRequestSent } from "./interceptors/request-sent.ts";
import type { Lane, Lanes } from "./lanes.ts";
import { redactError, redactUrl } from "./redact.ts";
import { type Hop, isRedirectStatus, prepareHop, redirectHop } from "./request.ts";
import { type BodySource, discardBody, HTTPResponse } from "./response.ts";
import { abortableSleep, isIdempotent, isRetryable, parseRetryAfter, retryWait } from "./retry.ts";
import type { RequestSpec, RetryOptions } from "./types.ts";

export interface TransportOptions {
  lanes: Lanes;
  jar: CookieJar;
  retry: Required<RetryOptions>;
  timeout: number;
  longPollTimeout: number;
  headers: Record<string, string>;
  secrets: string[];
}

const DEFAULT_MAX_REDIRECTS = 10;

/**
 * Bodies above this are written in chunks, each after the socket drained the one before, so
 * undici's "request sent" comes when the last byte was handed to the kernel, not when the whole
 * body was queued in the socket's memory: a connection cut mid-body then says requestSent: false.
 */
const STREAMED_BODY = 64 * 1024;

function* bodyChunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += STREAMED_BODY) yield bytes.subarray(i, i + STREAMED_BODY);
}

/** What undici listens on to abort an exchange: an AbortSignal, or an EventEmitter-shaped "abort" source. */
export type Wire = AbortSignal | AbortWire | undefined;

function settle(lane: Lane, longPoll: boolean): void {
  lane.stats.inFlight--;
  if (longPoll) lane.stats.parked--;
}

/** A request's first attempt under way: what its answer (or failure) is handled with. */
export interface Exchange {
  readonly spec: RequestSpec;
  readonly hop: Hop;
  readonly retry: Required<RetryOptions> | null;
  readonly lane: Lane;
  readonly longPoll: boolean;
  readonly wire: Wire;
  /** The in-flight counters were decremented (exactly once, answered or failed). */
  settled: boolean;
  /** undici's answer to the first attempt. */
  pending: Promise<Dispatcher.ResponseData>;
}

function settleOnce(ex: Exchange): void {
  if (ex.settled) return;
  ex.settled = true;
  settle(ex.lane, ex.longPoll);
}

/** Who a request is sent for: its cancellation signal and logger. */
export interface SendOwner {
  readonly signal: AbortSignal | undefined;
  readonly log: Logger;
}

export class Transport {
  readonly lanes: Lanes;
  readonly jar: CookieJar;
  readonly retry: Required<RetryOptions>;
  readonly secrets: string[];
  private readonly timeout: number;
  private readonly longPollTimeout: number;
  private readonly headers: Record<string, string>;
  /** Sync jar calls avoid two promise hops per request; async stores get the async API. */
  private readonly syncJar: boolean;
  /** The jar's in-memory index, when it has one: lets a request skip the jar when no cookie can match. */
  private readonly memoryIndex: MemoryCookieStore["idx"] | undefined;

  constructor(opts: TransportOptions) {
    this.lanes = opts.lanes;
    this.jar = opts.jar;
    this.retry = opts.retry;
    this.timeout = opts.timeout;
    this.longPollTimeout = opts.longPollTimeout;
    this.headers = opts.headers;
    this.secrets = opts.secrets;
    const store = (opts.jar as unknown as { store?: unknown }).store;
    this.syncJar = (store as { synchronous?: boolean } | undefined)?.synchronous === true;
    this.memoryIndex = store instanceof MemoryCookieStore ? store.idx : undefined;
  }

  /**
   * False only when the in-memory jar holds no cookie for `hostname` or any parent domain, so the
   * jar lookup (the costliest part of a short request) can be skipped.
   */
  private mayHaveCookies(hostname: string): boolean {
    const idx = this.memoryIndex;
    if (idx === undefined || hostname.charCodeAt(0) === 91 /* "[" IPv6 */) return true;
    // A host ending in a digit is an IPv4 address (WHATWG URL): only host-only cookies can match.
    const last = hostname.charCodeAt(hostname.length - 1);
    if (last >= 48 && last <= 57) return idx[hostname] !== undefined;
    let domain = hostname;
    for (;;) {
      if (idx[domain] !== undefined) return true;
      const dot = domain.indexOf(".");
      if (dot < 0) return false;
      domain = domain.slice(dot + 1);
    }
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
   * Sends a request, following redirects and retrying. `wire` is what undici listens on to abort an
   * exchange (a chain passes its light AbortWire). `owner.signal` (retry waits) and `owner.log` are
   * read only when needed: a chain makes both lazily. A chain's strand runs these same steps
   * (start, answered, recover, redirected) inline, so a parked poll holds one async frame, not two.
   */
  async send(spec: RequestSpec, owner: SendOwner, wire: Wire): Promise<HTTPResponse> {
    const ex = this.start(spec, wire);
    let res: HTTPResponse;
    try {
      res = await this.answered(ex, await ex.pending);
    } catch (err) {
      res = await this.recover(ex, err, owner);
    }
    return this.redirected(ex, res, owner);
  }

  /** Prepares a request and dispatches its first attempt. Throws on a bad spec. */
  start(spec: RequestSpec, wire: Wire): Exchange {
    const retry = this.retryOf(spec);
    const hop = prepareHop(spec, this.headers);
    const lane = this.lanes.get(hop.url.origin);
    const longPoll = spec.longPoll === true;
    const ex: Exchange = { spec, hop, retry, lane, longPoll, wire, settled: false, pending: undefined as unknown as Promise<Dispatcher.ResponseData> };
    try {
      ex.pending = this.dispatch(hop, spec, wire, lane, longPoll);
    } catch (err) {
      ex.pending = Promise.reject(err);
    }
    return ex;
  }

  /** The first attempt answered: counters settled, cookies stored; a status to retry throws HTTPStatusError. */
  answered(ex: Exchange, data: Dispatcher.ResponseData): HTTPResponse | Promise<HTTPResponse> {
    settleOnce(ex);
    return this.receive(data, ex.hop, ex.spec, ex.retry, ex.lane);
  }

  /** After the first attempt failed (or its status is retried): the remaining attempts, or the error. */
  recover(ex: Exchange, err: unknown, owner: SendOwner): Promise<HTTPResponse> {
    settleOnce(ex);
    return this.retryAfter(err, ex.hop, ex.spec, ex.retry, owner, ex.wire, false);
  }

  /** The response itself, or the one its redirects lead to. */
  redirected(ex: Exchange, res: HTTPResponse, owner: SendOwner): HTTPResponse | Promise<HTTPResponse> {
    if (!isRedirectStatus(res.status) || ex.spec.maxRedirects === 0) return res;
    return this.followRedirects(res, ex.hop, ex.spec, ex.retry, owner, ex.wire);
  }

  /** Follows the Location of `res` and the hops after it, cookies stored from each. */
  private async followRedirects(res: HTTPResponse, hop: Hop, spec: RequestSpec, retry: Required<RetryOptions> | null, owner: SendOwner, wire: Wire): Promise<HTTPResponse> {
    let redirectsLeft = spec.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    for (;;) {
      const location = res.headers.location;
      if (typeof location !== "string") return res;
      void discardBody(res.body);
      const next = redirectHop(hop, res.status, location);
      if (next === undefined) throw new RedirectError("redirect to an unusable Location", redactUrl(hop.url.href, this.secretsOf(spec)));
      if (redirectsLeft === 0) throw new RedirectError("too many redirects", redactUrl(hop.url.href, this.secretsOf(spec)));
      redirectsLeft--;
      if (owner.log.isLevelEnabled("debug")) {
        const secrets = this.secretsOf(spec);
        owner.log.debug({ status: res.status, from: redactUrl(hop.url.href, secrets), to: redactUrl(next.url.href, secrets) }, "redirect");
      }
      hop = next;
      try {
        res = await this.attempt(hop, spec, wire, retry);
      } catch (err) {
        // An earlier hop was answered: the request reached the server, whatever this hop did.
        res = await this.retryAfter(err, hop, spec, retry, owner, wire, true);
      }
      if (!isRedirectStatus(res.status)) return res;
    }
  }

  /**
   * After a failed first attempt: p-retry decides and runs the remaining attempts. The first
   * attempt's failure is fed to it as its attempt 1 (a request that succeeds at once never pays for
   * p-retry). `shouldRetry` is the one retry policy (`isRetryable`), and it waits the full-jitter
   * backoff (raised to Retry-After) itself, so p-retry's own delay is 0. The error that ends it
   * carries `requestSent`: true when any attempt or an earlier hop may have reached the server.
   */
  private async retryAfter(
    first: unknown,
    hop: Hop,
    spec: RequestSpec,
    retry: Required<RetryOptions> | null,
    owner: SendOwner,
    wire: Wire,
    sentBefore: boolean,
  ): Promise<HTTPResponse> {
    const stats = this.lanes.get(hop.url.origin).stats;
    let sent = sentBefore || wasRequestSent(first) === true;
    if (retry === null) {
      stats.failed++;
      markRequestSent(first, sent);
      throw first;
    }
    const signal = owner.signal;
    const log = owner.log;
    const policy = { method: hop.method, retrySafe: spec.retrySafe };
    try {
      return await pRetry((attempt) => (attempt === 1 ? Promise.reject(first) : this.attempt(hop, spec, wire, retry)), {
        retries: retry.retries,
        minTimeout: 0,
        signal,
        onFailedAttempt: ({ error }) => {
          if (wasRequestSent(error) === true) sent = true;
        },
        shouldRetry: async ({ error, attemptNumber }) => {
          if (!isRetryable(error, policy, retry.statuses)) return false;
          await this.waitBeforeRetry(attemptNumber, error, hop, spec, retry, signal, log);
          stats.retried++;
          return true;
        },
      });
    } catch (err) {
      stats.failed++;
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

  /** One whole exchange (a retry attempt): dispatch, settle the counters, receive. */
  private async attempt(hop: Hop, spec: RequestSpec, wire: Wire, retry: Required<RetryOptions> | null): Promise<HTTPResponse> {
    const lane = this.lanes.get(hop.url.origin);
    const longPoll = spec.longPoll === true;
    let data: Dispatcher.ResponseData;
    try {
      data = await this.dispatch(hop, spec, wire, lane, longPoll);
    } finally {
      settle(lane, longPoll);
    }
    return this.receive(data, hop, spec, retry, lane);
  }

  /** Sends a hop on its lane with the jar's cookies; counts it in flight until settle(). */
  private dispatch(hop: Hop, spec: RequestSpec, wire: Wire, lane: Lane, longPoll: boolean): Promise<Dispatcher.ResponseData> {
    const url = hop.url;
    const stats = lane.stats;
    stats.inFlight++;
    if (longPoll) stats.parked++;
    if (!this.mayHaveCookies(url.hostname)) return this.request(hop, spec, wire, lane, longPoll, "");
    if (this.syncJar) return this.request(hop, spec, wire, lane, longPoll, this.jar.getCookieStringSync(url.href));
    return this.jar.getCookieString(url.href).then((cookie) => this.request(hop, spec, wire, lane, longPoll, cookie));
  }

  private request(hop: Hop, spec: RequestSpec, wire: Wire, lane: Lane, longPoll: boolean, jarCookie: string): Promise<Dispatcher.ResponseData> {
    let headers = hop.headers;
    if (jarCookie !== "") {
      if (hop.sharedHeaders) {
        headers = hop.headers = { ...headers };
        hop.sharedHeaders = false;
      }
      headers.cookie = hop.userCookie === undefined ? jarCookie : hop.userCookie + "; " + jarCookie;
    } else if (!hop.sharedHeaders) {
      if (hop.userCookie !== undefined) headers.cookie = hop.userCookie;
      else if (headers.cookie !== undefined) delete headers.cookie;
    }
    const timeout = spec.timeout ?? (longPoll ? this.longPollTimeout : this.timeout);
    let body: Dispatcher.DispatchOptions["body"] = hop.body;
    if (body !== undefined && body.length > STREAMED_BODY) {
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      headers = { ...headers, "content-length": String(bytes.byteLength) };
      body = bodyChunks(bytes) as unknown as Dispatcher.DispatchOptions["body"];
    }
    return (longPoll ? lane.longPoll : lane.short).request({
      path: hop.url.path,
      method: hop.method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: wire as AbortSignal | undefined, // undici also takes the EventEmitter shape (see AbortWire)
      headersTimeout: timeout,
      bodyTimeout: timeout,
      maxBodySize: spec.maxBodySize, // read by the bodyLimit interceptor
    } as Dispatcher.RequestOptions);
  }

  /** Stores cookies and wraps the response; a status to retry throws HTTPStatusError. */
  private receive(data: Dispatcher.ResponseData, hop: Hop, spec: RequestSpec, retry: Required<RetryOptions> | null, lane: Lane): HTTPResponse | Promise<HTTPResponse> {
    const setCookie = data.headers["set-cookie"];
    if (setCookie !== undefined) {
      if (!this.syncJar) return this.storeCookies(setCookie, hop.url.href).then(() => this.respond(data, hop, spec, retry, lane));
      for (const c of typeof setCookie === "string" ? [setCookie] : setCookie) this.jar.setCookieSync(c, hop.url.href, { ignoreError: true });
    }
    return this.respond(data, hop, spec, retry, lane);
  }

  private respond(data: Dispatcher.ResponseData, hop: Hop, spec: RequestSpec, retry: Required<RetryOptions> | null, lane: Lane): HTTPResponse {
    const status = data.statusCode;
    if (retry !== null && retry.statuses.includes(status) && (spec.retrySafe === true || isIdempotent(hop.method))) {
      void discardBody(data.body as unknown as BodySource);
      const href = hop.url.href;
      throw new HTTPStatusError(status, data.headers, redactUrl(href, this.secretsOf(spec)), parseRetryAfter(data.headers["retry-after"]));
    }
    lane.stats.completed++;
    return new HTTPResponse(status, data.headers, hop.url.href, spec, data.body as unknown as BodySource);
  }

  private async storeCookies(setCookie: string | string[], url: string): Promise<void> {
    for (const c of typeof setCookie === "string" ? [setCookie] : setCookie) await this.jar.setCookie(c, url, { ignoreError: true });
  }
}
