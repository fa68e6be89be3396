// The access token as an HTTPStream chain (protocols.md §6.1): getAppAccessToken, and the next
// refresh as a delayed step due shortly before the token runs out (the server hands out a new
// token only in the last 60 s of the old one's life, and the old one stays valid meanwhile).
// A request refused for an expired token asks refresh(): the chain is restarted at once.
import type { Logger } from "pino";
import { backoffDelay, redactText, type ChainHandle, type HTTPStream, type Step, type StepContext, type StreamResponse } from "../../../src/index.ts";
import { authRetryDelay } from "../shared/auth-retry.ts";
import { ApiError, BadAnswerError, readAnswer, tokenRequest, type QqbotApi } from "./api.ts";

/** Token endpoint codes that mean the app id or secret is wrong or the bot is gone: retrying soon will not help. */
const CREDENTIAL_CODES = new Set([100007, 100016, 10004]);
/** Refresh this long before expiry, at most (and a quarter of the life for short-lived test tokens). */
const REFRESH_MARGIN_MS = 30_000;
/** Never refresh sooner than this after the last answer (a server saying expires_in "0" must not make us spin). */
const MIN_REFRESH_MS = 1_000;
const AUTH_RETRY_MS = 60_000;
const MAX_AUTH_RETRY_MS = 30 * 60_000;

export interface AccessTokenOptions {
  stream: HTTPStream;
  api: QqbotApi;
  secret: string;
  log: Logger;
  backoff: { min: number; max: number };
  /** "ok" on every token received; "auth-failed"/"retrying" with a detail while none can be had. */
  onState: (state: "ok" | "auth-failed" | "retrying", detail?: string) => void;
}

export class AccessToken {
  readonly #o: AccessTokenOptions;
  #token: string | undefined;
  #expiresAt = 0;
  #chain: ChainHandle | undefined;
  #waiters: { resolve: (t: string) => void; reject: (e: unknown) => void }[] = [];
  #failures = 0;
  #authFailures = 0;
  #stopped = false;
  /** Every token this process held (for callers that scrub logs and for tests). */
  readonly seen = new Set<string>();

  constructor(o: AccessTokenOptions) {
    this.#o = o;
  }

  /** Starts the chain (the first request goes out at once). */
  start(): void {
    this.#restart();
  }

  /** The current token, if any and not expired. */
  get current(): string | undefined {
    return this.#token !== undefined && Date.now() < this.#expiresAt ? this.#token : undefined;
  }

  /** The current token, or the next one the chain gets; rejects when `signal` aborts or the holder stops. */
  get(signal?: AbortSignal): Promise<string> {
    const now = this.current;
    if (now !== undefined) return Promise.resolve(now);
    return this.#wait(signal);
  }

  /**
   * The server refused `stale`: unless a newer token is already here, drop it and ask for a new one
   * at once (one chain restart however many requests were refused together).
   */
  refresh(stale: string, signal?: AbortSignal): Promise<string> {
    if (this.#token !== undefined && this.#token !== stale) return this.get(signal);
    if (this.#token === stale) {
      this.#token = undefined;
      this.#o.log.info("qqbot: the access token was refused as expired; getting a new one");
      this.#restart();
    }
    return this.#wait(signal);
  }

  stop(): void {
    this.#stopped = true;
    this.#chain?.cancel();
    for (const w of this.#waiters.splice(0)) w.reject(new Error("qqbot access token: stopped"));
  }

  #wait(signal?: AbortSignal): Promise<string> {
    if (this.#stopped) return Promise.reject(new Error("qqbot access token: stopped"));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (t: string) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(t);
        },
        reject: (e: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(w);
    });
  }

  #step(delay: number): Step {
    return { request: tokenRequest(this.#o.api, this.#o.secret), readback: (res, ctx) => this.#readback(res, ctx), delay };
  }

  #restart(): void {
    if (this.#stopped) return;
    this.#chain?.cancel();
    const first = this.#step(0);
    this.#chain = this.#o.stream.add(first.request, first.readback, {
      name: "qqbot access token",
      onError: (err: unknown) => {
        // Transport failures after HTTPStream's own retries, unreadable answers: back off and ask again.
        const wait = Math.max(1, backoffDelay(++this.#failures, this.#o.backoff));
        const detail = redactText((err as Error).message ?? String(err), [this.#o.secret, ...this.seen]);
        this.#o.log.warn({ err: detail, retryIn: wait }, "qqbot: getAppAccessToken failed; retrying");
        if (this.current === undefined) this.#o.onState("retrying", `getAppAccessToken: ${detail}`);
        return this.#step(wait);
      },
    });
  }

  async #readback(res: StreamResponse, _ctx: StepContext): Promise<Step> {
    let body: Record<string, unknown>;
    try {
      body = await readAnswer(res, "getAppAccessToken");
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return this.#refused(err);
    }
    const token = body.access_token;
    const expires = typeof body.expires_in === "string" ? Number(body.expires_in.trim()) : body.expires_in;
    if (typeof token !== "string" || token === "" || typeof expires !== "number" || !Number.isFinite(expires) || expires <= 0) {
      throw new BadAnswerError("getAppAccessToken", res.status, "no access_token or expires_in in the answer");
    }
    const lifeMs = expires * 1000;
    const fresh = token !== this.#token;
    this.#token = token;
    this.#expiresAt = Date.now() + lifeMs;
    this.seen.add(token);
    this.#failures = this.#authFailures = 0;
    const next = Math.max(MIN_REFRESH_MS, lifeMs - Math.min(REFRESH_MARGIN_MS, lifeMs / 4));
    this.#o.log[fresh ? "info" : "debug"]({ expiresInS: expires, refreshInMs: Math.round(next) }, fresh ? "qqbot: access token obtained" : "qqbot: access token still valid");
    this.#o.onState("ok");
    for (const w of this.#waiters.splice(0)) w.resolve(token);
    return this.#step(next);
  }

  #refused(err: ApiError): Step {
    if (CREDENTIAL_CODES.has(err.code) || err.status === 401) {
      const wait = authRetryDelay(++this.#authFailures, AUTH_RETRY_MS, MAX_AUTH_RETRY_MS);
      const detail = `getAppAccessToken refused the app id or secret (code ${err.code}: ${err.message.replace(/^.*? code \d+ /, "")}); check them. Next try in ${Math.round(wait / 1000)} s`;
      this.#o.log.error({ code: err.code, retryIn: wait }, `qqbot: ${detail}`);
      if (this.current === undefined) this.#o.onState("auth-failed", detail);
      return this.#step(wait);
    }
    const wait = Math.max(1, backoffDelay(++this.#failures, this.#o.backoff));
    this.#o.log.warn({ code: err.code, status: err.status, retryIn: wait }, "qqbot: getAppAccessToken answered an error; retrying");
    if (this.current === undefined) this.#o.onState("retrying", `getAppAccessToken: code ${err.code}`);
    return this.#step(wait);
  }
}
