// The backoff rules every network's connection follows: a refused credential (token, secret)
// does not fix itself, so its waits are long (auth-retry.ts); any other failure backs off short
// and growing; one success resets both. Each failure also says so in the status.
import type { Logger } from "pino";
import { backoffDelay } from "../../../src/index.ts";
import { authRetryDelay } from "./auth-retry.ts";
import type { RepeatedWarning } from "./repeated-warning.ts";

export interface FailuresOptions {
  log: Logger;
  warnings: RepeatedWarning;
  /** The network type, prefixed to log lines ("telegram: …"). */
  network: string;
  backoff: { min: number; max: number };
  /** The wait after the first refused credential, doubling up to `cap`. */
  auth: { base: number; cap: number };
  setStatus: (state: string, detail?: string) => void;
  /** Applied to a detail before it is logged (a token inside an error). */
  redact?: (detail: string) => string;
}

/** Consecutive failures of one connection (auth and other apart) and the wait before its next try. */
export class Failures {
  readonly #o: FailuresOptions;
  #auth = 0;
  #other = 0;

  constructor(o: FailuresOptions) {
    this.#o = o;
  }

  /** The wait after the n-th refusal of the credentials in a row. */
  authWait(n: number): number {
    return authRetryDelay(n, this.#o.auth.base, this.#o.auth.cap);
  }

  /** The connection works (the server took our credentials): the next failure starts short again. */
  ok(): void {
    this.#auth = this.#other = 0;
  }

  /**
   * Refused for what only the operator can fix (a token, a permission; `state` says which, default
   * auth-failed), with `detail` (given the wait, when a function); returns the long wait.
   */
  authFailed(detail: string | ((retryIn: number) => string), state = "auth-failed"): number {
    const wait = this.authWait(++this.#auth);
    const text = typeof detail === "function" ? detail(wait) : detail;
    this.#o.setStatus(state, text);
    this.#o.log.error({ detail: this.#redact(text), retryIn: wait }, `${this.#o.network}: ${state}: the server refused us; retrying slowly`);
    return wait;
  }

  /** Anything else: status `state` with `detail`; returns a short wait that grows while it lasts. */
  failed(state: string, detail: string, what = "connection"): number {
    const wait = Math.max(1, backoffDelay(++this.#other, this.#o.backoff));
    this.#o.setStatus(state, detail);
    const shown = this.#redact(detail);
    this.#o.warnings.warn(`failed:${what}:${state}:${shown}`, { detail: shown, failures: this.#other, retryIn: wait }, `${this.#o.network}: ${what} failed; retrying`);
    return wait;
  }

  #redact(detail: string): string {
    return this.#o.redact?.(detail) ?? detail;
  }
}
