// Sends one RequestSpec: cookies in and out on every hop, redirects followed here (so no
// Set-Cookie on a 3xx is lost), retries through p-retry with full-jitter backoff.
import type { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import pRetry from "p-retry";
import type { Logger } from "pino";
import { type CookieJar, MemoryCookieStore } from "tough-cookie";
import { HTTPStatusError, RedirectError } from "./errors.ts";
import type { Lanes } from "./lanes.ts";
import { redactError, redactUrl } from "./redact.ts";
import { type Hop, isRedirectStatus, prepareHop, redirectHop } from "./request.ts";
import { type BodySource, discardBody, HTTPResponse } from "./response.ts";
import { classifyFailure, isIdempotent, parseRetryAfter, retryWait } from "./retry.ts";
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

/** What undici listens on to abort an exchange: an AbortSignal, or an EventEmitter emitting "abort". */
export type Wire = AbortSignal | EventEmitter | undefined;

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
   * Sends a request, following redirects and retrying. `signal` cancels retry waits; `wire` is what
   * undici listens on to abort the exchange (a chain passes a cheap EventEmitter, see Chain.wire).
   * `logs.log` is read only when there is something to log (a chain's child logger is made lazily).
   */
  async send(spec: RequestSpec, signal: AbortSignal | undefined, wire: Wire, logs: { readonly log: Logger }): Promise<HTTPResponse> {
    const retry = this.retryOf(spec);
    let hop = prepareHop(spec, this.headers);
    let redirectsLeft = spec.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    const follow = redirectsLeft > 0;
    for (;;) {
      let res: HTTPResponse;
      // The first attempt is awaited right here: the common case pays for no retry machinery.
      try {
        res = await this.attempt(hop, spec, wire, retry);
      } catch (err) {
        res = await this.retryAfter(err, hop, spec, retry, signal, wire, logs.log);
      }
      if (!follow || !isRedirectStatus(res.status)) return res;
      const location = res.headers.location;
      if (typeof location !== "string") return res;
      void discardBody(res.body);
      const next = redirectHop(hop, res.status, location);
      if (next === undefined) throw new RedirectError("redirect to an unusable Location", redactUrl(hop.url.href, this.secretsOf(spec)));
      if (redirectsLeft === 0) throw new RedirectError("too many redirects", redactUrl(hop.url.href, this.secretsOf(spec)));
      redirectsLeft--;
      if (logs.log.isLevelEnabled("debug")) {
        const secrets = this.secretsOf(spec);
        logs.log.debug({ status: res.status, from: redactUrl(hop.url.href, secrets), to: redactUrl(next.url.href, secrets) }, "redirect");
      }
      hop = next;
    }
  }

  /** Whether a failed attempt is retried (retries left are checked by the caller). */
  private retries(err: unknown, hop: Hop, spec: RequestSpec): boolean {
    const kind = classifyFailure(err);
    if (kind === "before-send") return true;
    if (kind === "other") return false;
    // Statuses are thrown only when eligible (see attempt()); transport failures may have reached the server.
    return spec.retrySafe === true || isIdempotent(hop.method);
  }

  /** After a failed first attempt: the remaining attempts, through p-retry, or the error. */
  private async retryAfter(
    first: unknown,
    hop: Hop,
    spec: RequestSpec,
    retry: Required<RetryOptions> | null,
    signal: AbortSignal | undefined,
    wire: Wire,
    log: Logger,
  ): Promise<HTTPResponse> {
    const stats = this.lanes.get(hop.url.origin).stats;
    if (retry === null || (signal !== undefined && signal.aborted) || !this.retries(first, hop, spec)) {
      stats.failed++;
      throw first;
    }
    try {
      await this.waitBeforeRetry(1, first, hop, spec, retry, signal, log);
      stats.retried++;
      return await pRetry(() => this.attempt(hop, spec, wire, retry), {
        retries: retry.retries - 1,
        minTimeout: 0, // the wait is ours: full jitter and Retry-After, in onFailedAttempt
        signal,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft > 0 && this.retries(error, hop, spec)) {
            await this.waitBeforeRetry(attemptNumber + 1, error, hop, spec, retry, signal, log);
            stats.retried++;
          }
        },
        shouldRetry: ({ error }) => this.retries(error, hop, spec),
      });
    } catch (err) {
      stats.failed++;
      throw err;
    }
  }

  private async waitBeforeRetry(retryNumber: number, err: unknown, hop: Hop, spec: RequestSpec, retry: Required<RetryOptions>, signal: AbortSignal | undefined, log: Logger): Promise<void> {
    const wait = retryWait(retryNumber, err, retry);
    if (log.isLevelEnabled("debug")) {
      const secrets = this.secretsOf(spec);
      log.debug({ url: redactUrl(hop.url.href, secrets), retry: retryNumber, wait, error: redactError(err, secrets) }, "retrying request");
    }
    if (wait > 0) await sleep(wait, undefined, signal === undefined ? undefined : { signal });
  }

  /** One HTTP exchange on the right lane, cookies sent and stored. Retryable statuses throw. */
  private async attempt(hop: Hop, spec: RequestSpec, wire: Wire, retry: Required<RetryOptions> | null): Promise<HTTPResponse> {
    const url = hop.url;
    const href = url.href;
    const headers = hop.headers;
    const jarCookie = !this.mayHaveCookies(url.hostname) ? "" : this.syncJar ? this.jar.getCookieStringSync(href) : await this.jar.getCookieString(href);
    if (jarCookie !== "") headers.cookie = hop.userCookie === undefined ? jarCookie : hop.userCookie + "; " + jarCookie;
    else if (hop.userCookie === undefined && headers.cookie !== undefined) delete headers.cookie;

    const lane = this.lanes.get(url.origin);
    const stats = lane.stats;
    const longPoll = spec.longPoll === true;
    const timeout = spec.timeout ?? (longPoll ? this.longPollTimeout : this.timeout);
    stats.inFlight++;
    if (longPoll) stats.parked++;
    let data;
    try {
      data = await (longPoll ? lane.longPoll : lane.short).request({
        path: url.path,
        method: hop.method as "GET",
        headers,
        body: hop.body,
        signal: wire,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } finally {
      stats.inFlight--;
      if (longPoll) stats.parked--;
    }
    const status = data.statusCode;
    const resHeaders = data.headers;
    const setCookie = resHeaders["set-cookie"];
    if (setCookie !== undefined) await this.storeCookies(setCookie, href);

    if (retry !== null && retry.statuses.includes(status) && (spec.retrySafe === true || isIdempotent(hop.method))) {
      void discardBody(data.body as unknown as BodySource);
      throw new HTTPStatusError(status, resHeaders, redactUrl(href, this.secretsOf(spec)), parseRetryAfter(resHeaders["retry-after"]));
    }
    stats.completed++;
    return new HTTPResponse(status, resHeaders, href, spec, data.body as unknown as BodySource);
  }

  private async storeCookies(setCookie: string | string[], url: string): Promise<void> {
    const list = typeof setCookie === "string" ? [setCookie] : setCookie;
    for (const c of list) {
      if (this.syncJar) this.jar.setCookieSync(c, url, { ignoreError: true });
      else await this.jar.setCookie(c, url, { ignoreError: true });
    }
  }
}
