// Our reconnect for xmpp.js, in place of @xmpp/reconnect (which retries every second forever and
// gives up silently after an auth failure): one attempt at a time, full-jitter backoff between
// attempts (reset once online), and nothing at all once the owner says it may not run (stopped,
// or failed for good: auth, certificate, TLS — no reconnect storm).
// An attempt is the entity's public connect() then open(), as @xmpp/reconnect does it: what
// start() does, minus its wait for `online`, which never settles when the socket drops mid-login.
import type { Logger } from "pino";
import { fullJitter, type BackoffBounds } from "./backoff.ts";
import type { XmppJsClient } from "./xmpp-js.ts";

export interface ReconnectOptions {
  backoff: BackoffBounds;
  log: Logger;
  /** false once stopped or failed for good: no attempt starts, none is scheduled. */
  mayRun(): boolean;
  /** An attempt failed (socket or stream open): the owner classifies the error. */
  onAttemptError(err: Error): void;
}

export class Reconnect {
  readonly #xmpp: XmppJsClient;
  readonly #opts: ReconnectOptions;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The current attempt, settled: the next one starts only after it. */
  #settled: Promise<void> = Promise.resolve();

  constructor(xmpp: XmppJsClient, opts: ReconnectOptions) {
    this.#xmpp = xmpp;
    this.#opts = opts;
    xmpp.on("disconnect", () => this.schedule());
  }

  /** Connects now (once the attempt in progress, if any, has settled). */
  connectNow(): void {
    void this.#settled.then(() => this.#connect());
  }

  /** The session is up: the next loss starts again from the shortest delay. */
  reset(): void {
    this.#attempt = 0;
  }

  /** Connects after the next backoff delay, unless an attempt is already scheduled. */
  schedule(): void {
    if (!this.#opts.mayRun() || this.#timer) return;
    const delay = fullJitter(this.#attempt++, this.#opts.backoff);
    this.#opts.log.info({ delay, attempt: this.#attempt }, "reconnecting after delay");
    // One attempt at a time: when the socket drops while the stream opens, xmpp.js keeps waiting
    // for the open until its timeout; an overlapping attempt would have that stale wait tear it down.
    this.#timer = setTimeout(() => void this.#settled.then(() => this.#connect()), delay);
  }

  /** Cancels a scheduled attempt (stop, or failed for good). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #connect(): void {
    this.#timer = undefined;
    if (!this.#opts.mayRun()) return;
    const xmpp = this.#xmpp;
    const { service, domain, lang } = xmpp.options;
    this.#opts.log.info({ service }, "connecting");
    const attempt = (async () => {
      await xmpp.connect(service);
      await xmpp.open({ domain, ...(lang ? { lang } : {}) });
    })();
    // Always settles, by error or by the stream open's timeout.
    this.#settled = attempt.catch(async (err: Error) => {
      if (!this.#opts.mayRun()) return;
      this.#opts.onAttemptError(err);
      if (!this.#opts.mayRun()) return;
      // A half-open attempt (e.g. the stream open timed out) must be torn down before the next.
      if (!["disconnect", "offline"].includes(xmpp.status)) await xmpp.disconnect().catch(() => undefined);
      this.schedule();
    });
  }
}
