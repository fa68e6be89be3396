// HTTPStream: many chains of HTTP requests multiplexed on one event loop and shared pools.
import pino, { type Logger } from "pino";
import { CookieJar } from "tough-cookie";
import { Chain, ChainCancelledError, type ChainOwner, type Strand, wakeStrand } from "./chain.ts";
import { RequestSpecError, StreamClosedError } from "./errors.ts";
import type { Dispatcher } from "undici";
import { ComposedDispatcher } from "./compose.ts";
import { bodyLimit, DEFAULT_MAX_BODY_SIZE } from "./interceptors/body-limit.ts";
import { cookies } from "./interceptors/cookies.ts";
import { redirect } from "./interceptors/redirect.ts";
import { requestSent } from "./interceptors/request-sent.ts";
import { DispatchStats, stats } from "./interceptors/stats.ts";
import { Lanes } from "./lanes.ts";
import { validateOptions } from "./options.ts";
import { redactError, redactPaths, redactUrl } from "./redact.ts";
import { lowerHeaders, prepareHop } from "./request.ts";
import { discardBody, type HTTPResponse } from "./response.ts";
import { backoffDelay, DEFAULT_RETRY } from "./retry.ts";
import { Transport } from "./transport.ts";
import type {
  ChainHandle,
  ChainOptions,
  ErrorPolicy,
  HTTPStreamOptions,
  OriginStats,
  Readback,
  RequestSpec,
  ResponseInfo,
  Step,
  StepResult,
  StreamResponse,
  StreamStats,
} from "./types.ts";

const DEFAULT_TIMEOUT = 30_000;
/** Long polls without their own timeout: generous, since the hold time is the server's. */
const DEFAULT_LONG_POLL_TIMEOUT = 120_000;
const DEFAULT_CLOSE_TIMEOUT = 10_000;
const MAX_DELAY = 2 ** 31 - 1;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
const DEFAULT_CHAIN_BACKOFF = { min: 1_000, max: 60_000 };

/** A logger for callers who gave none: warnings and errors to stderr, secrets redacted. */
function defaultLogger(): Logger {
  return pino({ name: "httpstream", level: "warn", redact: { paths: redactPaths, censor: "[Redacted]" } }, pino.destination({ dest: 2, sync: true }));
}

function isStep(value: unknown): value is Step {
  if (value === null || typeof value !== "object") return false;
  const req = (value as Step).request;
  return req !== null && typeof req === "object" && (typeof req.url === "string" || req.url instanceof URL);
}

export class HTTPStream implements ChainOwner {
  readonly cookies: CookieJar;
  readonly log: Logger;
  /** The dispatcher every request goes through: the given (or default Lanes) one, composed with HTTPStream's interceptors. */
  readonly dispatcher: Dispatcher;
  private readonly transport: Transport;
  private readonly counters = new DispatchStats();
  /** The dispatcher HTTPStream made itself (closed by close()); a given one is the caller's to close. */
  private readonly ownDispatcher: Dispatcher | undefined;
  private readonly chains = new Set<Chain>();
  private readonly chainBackoff: { min: number; max: number };
  private readonly defaultHeaders: Record<string, string>;
  private readonly onResponse: ((info: ResponseInfo) => void) | undefined;
  /**
   * One-shot requests under way, each with its own controller: when close() gives up waiting,
   * each is aborted with its own reason, so each reason carries its own request's `requestSent`.
   */
  private readonly oneShotAborts = new Set<AbortController>();
  private nextId = 1;
  private delayed = 0;
  private oneShots = 0;
  private closing = false;
  private closed: Promise<void> | undefined = undefined;
  /** Wakes close() whenever a chain or one-shot request ends. */
  private onIdle: (() => void) | undefined = undefined;

  constructor(opts: HTTPStreamOptions = {}) {
    validateOptions(opts);
    this.cookies = opts.cookies ?? new CookieJar();
    this.log = opts.logger ?? defaultLogger();
    this.chainBackoff = { ...DEFAULT_CHAIN_BACKOFF, ...opts.chainBackoff };
    this.defaultHeaders = lowerHeaders(opts.headers);
    this.onResponse = opts.onResponse;
    const http2Origins: string[] = [];
    for (const o of opts.http2Origins ?? []) {
      try {
        http2Origins.push(new URL(o).origin);
      } catch {
        throw new RequestSpecError(`http2Origins: not an origin: ${redactUrl(o)}`);
      }
    }
    this.ownDispatcher =
      opts.dispatcher === undefined ? new Lanes({ connections: opts.connections ?? 16, longPollConnections: opts.longPollConnections ?? null, http2Origins }) : undefined;
    // compose()'s order: the LAST listed is the outermost. Each redirect hop passes through cookies
    // (a cookie set on a 302 is sent on the next hop), request-sent tracking, the body cap and the
    // counters, then the caller's own interceptors, then the dispatcher.
    this.dispatcher = new ComposedDispatcher(opts.dispatcher ?? this.ownDispatcher!, [
      ...(opts.interceptors ?? []),
      stats(this.counters),
      bodyLimit({ maxBodySize: opts.maxBodySize ?? DEFAULT_MAX_BODY_SIZE }),
      requestSent(),
      cookies({ jar: this.cookies }),
      redirect(),
    ]);
    this.transport = new Transport({
      dispatcher: this.dispatcher,
      stats: this.counters,
      retry: { ...DEFAULT_RETRY, ...opts.retry } as Required<typeof DEFAULT_RETRY>,
      timeout: opts.timeout ?? DEFAULT_TIMEOUT,
      longPollTimeout: DEFAULT_LONG_POLL_TIMEOUT,
      headers: this.defaultHeaders,
      secrets: opts.secrets ?? [],
      log: this.log,
    });
  }

  /**
   * Starts a chain: sends `request` (after `opts.delay`), hands the response to `readback`, and
   * continues with whatever step(s) the readback returns.
   */
  add(request: RequestSpec, readback?: Readback, opts: ChainOptions = {}): ChainHandle {
    if (this.closing) throw new StreamClosedError();
    prepareHop(request, this.defaultHeaders); // bad input fails here, loudly, not in a retry loop
    const id = this.nextId++;
    const chain = new Chain(id, opts.name ?? request.name, opts.onError ?? "retry", this);
    this.chains.add(chain);
    const signal = opts.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        chain.cancel(signal.reason);
        return chain;
      }
      const onAbort = (): void => chain.cancel(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      void chain.done.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => undefined);
    }
    void this.runStrand(chain.addStrand(), { request, readback, delay: opts.delay });
    return chain;
  }

  /** transport.send, timed for the onResponse observer only when there is one (the hot path stays bare). */
  private send(spec: RequestSpec, owner: Parameters<Transport["send"]>[1], wire: Parameters<Transport["send"]>[2]): ReturnType<Transport["send"]> {
    if (this.onResponse === undefined) return this.transport.send(spec, owner, wire);
    const t0 = performance.now();
    return this.transport.send(spec, owner, wire).then((res) => {
      this.observe(spec, res, t0);
      return res;
    });
  }

  /** Tells the onResponse observer about an answered request sent at `t0`; a throwing observer is logged. */
  private observe(spec: RequestSpec, res: HTTPResponse, t0: number): void {
    try {
      this.onResponse?.({ name: spec.name, origin: URL.parse(res.url)?.origin ?? "", status: res.status, longPoll: spec.longPoll === true, ms: performance.now() - t0 });
    } catch (err) {
      this.log.warn({ err: redactError(err) }, "onResponse observer threw");
    }
  }

  /** One request with the stream's retries, cookies, redirects and lanes. The body is left unread. */
  async request(spec: RequestSpec, opts: { signal?: AbortSignal } = {}): Promise<StreamResponse> {
    if (this.closing) throw new StreamClosedError();
    const closing = new AbortController();
    const signal = opts.signal === undefined ? closing.signal : AbortSignal.any([opts.signal, closing.signal]);
    this.oneShots++;
    this.oneShotAborts.add(closing);
    try {
      return await this.send(spec, { signal, log: this.log }, signal);
    } finally {
      this.oneShotAborts.delete(closing);
      this.oneShots--;
      this.onIdle?.();
    }
  }

  stats(): StreamStats {
    const total: StreamStats = { inFlight: 0, parked: 0, completed: 0, retried: 0, failed: 0, delayed: this.delayed, chains: this.chains.size, origins: {} };
    for (const [origin, s] of this.counters.origins) {
      total.origins[origin] = { ...s } satisfies OriginStats;
      total.inFlight += s.inFlight;
      total.parked += s.parked;
      total.completed += s.completed;
      total.retried += s.retried;
      total.failed += s.failed;
    }
    return total;
  }

  /**
   * Stops the stream: no new chains, delayed steps and parked long polls are cancelled at once,
   * requests and readbacks under way get up to `timeout` ms (default 10 s) to finish, then
   * everything left is aborted and the connection pools are closed.
   */
  close(opts: { timeout?: number } = {}): Promise<void> {
    this.closed ??= this.shutdown(opts.timeout ?? DEFAULT_CLOSE_TIMEOUT);
    return this.closed;
  }

  chainEnded(chain: Chain): void {
    this.chains.delete(chain);
    this.onIdle?.();
  }

  private async shutdown(timeout: number): Promise<void> {
    this.closing = true;
    for (const chain of this.chains) this.cancelIfWaiting(chain);
    const deadline = setTimeout(() => this.abortAll(), timeout);
    try {
      while (this.chains.size > 0 || this.oneShots > 0) {
        await new Promise<void>((resolve) => (this.onIdle = resolve));
        this.onIdle = undefined;
        // A strand that finished may leave its chain with only waiting strands.
        for (const chain of this.chains) this.cancelIfWaiting(chain);
      }
    } finally {
      clearTimeout(deadline);
    }
    await this.ownDispatcher?.close();
  }

  /** A reason each: the request-sent state is recorded on it, and must not mix between requests. */
  private abortAll(): void {
    for (const closing of this.oneShotAborts) closing.abort(new StreamClosedError());
    for (const chain of this.chains) chain.cancel(new StreamClosedError());
  }

  /** Cancels a chain whose strands are all delayed or parked: nothing under way would be lost. */
  private cancelIfWaiting(chain: Chain): void {
    for (const strand of chain.strands) {
      if (strand.state !== "delayed" && strand.state !== "parked" && strand.state !== "idle") return;
    }
    chain.cancel(new StreamClosedError());
  }

  private delay(strand: Strand, ms: number): Promise<void> {
    this.delayed++;
    strand.state = "delayed";
    return new Promise<void>((resolve) => {
      strand.wake = resolve;
      // Beyond 2^31−1 ms setTimeout would fire at once; such a delay means "much later", not "now".
      strand.timer = setTimeout(wakeStrand, Math.min(ms, MAX_DELAY), strand);
    }).finally(() => {
      this.delayed--;
    });
  }

  // Kept lean on purpose: while a poll is parked, this frame is what stays suspended.
  private async runStrand(strand: Strand, first: Step): Promise<void> {
    const chain = strand.chain;
    let step: Step | undefined = first;
    try {
      while (step !== undefined) {
        if (step.delay !== undefined && step.delay > 0) {
          if (this.closing) break;
          await this.delay(strand, step.delay);
        }
        if (step.request.longPoll === true) {
          // undici frees a connection only after the previous response's body has ended, a turn
          // later than the readback sees it; a poll re-armed at once would open a second one.
          // One turn of the event loop lets every re-armed poll reuse its own connection.
          await nextTurn();
        }
        if (chain.cancelled || this.closing) break;
        strand.state = step.request.longPoll === true ? "parked" : "sending";
        let result: StepResult;
        let res: HTTPResponse | undefined;
        try {
          // transport.send's steps and the readback are awaited here, not in helpers: a parked poll
          // then holds this one suspended frame, and a short request pays for no other.
          const spec = step.request;
          const t0 = this.onResponse === undefined ? 0 : performance.now();
          const ex = this.transport.start(spec, chain, chain);
          try {
            res = this.transport.answered(ex, await ex.pending);
          } catch (err) {
            res = await this.transport.recover(ex, err, chain);
          }
          if (this.onResponse !== undefined) this.observe(spec, res, t0);
          strand.state = "reading";
          const readback = step.readback;
          if (readback === undefined) {
            await discardBody(res.body);
            result = undefined;
          } else {
            result = await readback(res, strand);
            void discardBody(res.body); // an unread body is drained so the connection is reused
          }
          strand.failures = 0;
        } catch (err) {
          if (res !== undefined) void discardBody(res.body);
          if (chain.cancelled) break;
          result = await this.stepFailed(err, step, strand);
        }
        strand.state = "idle";
        if (chain.cancelled) break;
        step = this.nextStep(result, chain);
      }
    } catch (err) {
      // Policy "end", a throwing error callback, or a readback that returned garbage.
      chain.fail(err);
    } finally {
      strand.state = "idle";
      chain.strandEnded(strand);
    }
  }

  /** Applies the chain's error policy; returns the step to run next, or throws to end the chain. */
  private async stepFailed(err: unknown, step: Step, strand: Strand): Promise<StepResult> {
    const chain = strand.chain;
    strand.failures++;
    const policy: ErrorPolicy = chain.onError;
    const secrets = this.transport.secretsOf(step.request);
    if (err instanceof RequestSpecError || policy === "end") {
      chain.log.error({ error: redactError(err, secrets), url: redactUrl(step.request.url, secrets), failures: strand.failures }, "chain step failed; chain ends");
      throw err;
    }
    if (policy === "retry") {
      const wait = backoffDelay(strand.failures, { min: this.chainBackoff.min, max: this.chainBackoff.max });
      chain.log.warn({ error: redactError(err, secrets), url: redactUrl(step.request.url, secrets), failures: strand.failures, retryIn: wait }, "chain step failed; retrying");
      return { request: step.request, readback: step.readback, delay: Math.max(1, wait) };
    }
    return await policy(err, step, strand);
  }

  /** Continues this strand with the first step; any further steps become new strands. */
  private nextStep(result: StepResult, chain: Chain): Step | undefined {
    if (result === undefined || result === null) return undefined;
    if (!Array.isArray(result)) {
      if (!isStep(result)) throw new RequestSpecError("a readback returned something that is not a step ({request, readback?, delay?})");
      return result;
    }
    for (const s of result) {
      if (!isStep(s)) throw new RequestSpecError("a readback returned a list holding something that is not a step");
    }
    for (let i = 1; i < result.length; i++) void this.runStrand(chain.addStrand(), result[i]);
    return result[0];
  }
}

export { ChainCancelledError };
