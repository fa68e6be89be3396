// The part of a network that is not its protocol, written once: the status (status() and
// onStatus), the run started by start() and supervised with backoff until stop(), stop() that
// waits (bounded) for the work under way, and the durable hand-over of inbound messages to the
// relay's sink. An adapter makes one NetworkSkeleton and keeps only its protocol (see network.ts).
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { RetryOptions } from "../../../src/index.ts";
import { SendError, type InboundMessage, type MessageSink, type NetworkAdapter, type NetworkStatus } from "../../network.ts";
import { deliverWithRetry } from "./deliver.ts";
import { Failures } from "./failures.ts";
import { RepeatedWarning } from "./repeated-warning.ts";
import { StatusHolder } from "./status.ts";

/** How long stop() waits for the work under way (every wait honours the stop signal, so this is a bound, not a pace). */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

export interface SkeletonOptions {
  /** The network's key in the config. */
  id: string;
  /** The network type ("telegram"): prefixes log lines and errors. */
  type: string;
  logger: Logger;
  /** minTimeout / maxTimeout bound the short backoff (default 1 s → 60 s); tests pass tiny ones. */
  retry?: Partial<RetryOptions>;
  /** Waits after a refused credential: `base` first, doubling up to `cap` (default: the backoff's max, up to 10×). */
  auth?: { base: number; cap: number };
  /** Applied to every status detail and logged failure (a token inside an error message). */
  redact?: (detail: string) => string;
  /** NetworkContext.onEventRejected. */
  onEventRejected?: (reason: string) => void;
  stopTimeoutMs?: number;
}

/** What a session's failure means: a refused credential (long waits), or a state to show (short waits). */
export type Failure = { auth: string | ((retryIn: number) => string) } | { state: string; detail: string; what?: string };

export class NetworkSkeleton {
  readonly id: string;
  readonly type: string;
  /** The network's child logger ({network: id}). */
  readonly log: Logger;
  /** For any warning a peer can make us repeat. */
  readonly warnings: RepeatedWarning;
  readonly backoff: { min: number; max: number };
  /** The connection's consecutive failures (supervise() counts them; a session calls failures.ok() once connected). */
  readonly failures: Failures;
  readonly #o: SkeletonOptions;
  readonly #main = new AbortController();
  readonly #status: StatusHolder;
  #started = false;
  #running: Promise<void> = Promise.resolve();

  constructor(o: SkeletonOptions) {
    this.#o = o;
    this.id = o.id;
    this.type = o.type;
    this.log = o.logger.child({ network: o.id });
    this.warnings = new RepeatedWarning(this.log);
    this.backoff = { min: o.retry?.minTimeout ?? 1_000, max: o.retry?.maxTimeout ?? 60_000 };
    this.#status = new StatusHolder({ log: this.log, network: o.type, ...(o.redact ? { redact: o.redact } : {}) });
    this.failures = this.newFailures();
  }

  /** Aborts on stop(): every wait and request of the network honours it. */
  get signal(): AbortSignal {
    return this.#main.signal;
  }

  /** start() was called. */
  get started(): boolean {
    return this.#started;
  }

  get stopping(): boolean {
    return this.#main.signal.aborted;
  }

  /** Moves the status (ok only when "online"). After stop(), a late callback cannot report a state again. */
  setStatus(state: string, detail?: string): void {
    if (this.stopping && state !== "stopped") return;
    this.#status.set(state, detail);
  }

  current(): NetworkStatus {
    return this.#status.get();
  }

  /** The NetworkAdapter's id, type, status() and onStatus(): an adapter spreads it into itself. */
  get base(): Pick<NetworkAdapter, "id" | "type" | "status" | "onStatus"> {
    return { id: this.id, type: this.type, status: () => this.current(), onStatus: (l) => this.#status.onStatus(l) };
  }

  /**
   * Another failure count with the same rules, for a network with several connections;
   * `setStatus` when that connection's state is only a part of the network's status.
   */
  newFailures(setStatus?: (state: string, detail?: string) => void): Failures {
    const max = this.backoff.max;
    return new Failures({
      log: this.log,
      warnings: this.warnings,
      network: this.type,
      backoff: this.backoff,
      auth: this.#o.auth ?? { base: max, cap: max * 10 },
      setStatus: setStatus ?? ((state, detail) => this.setStatus(state, detail)),
      ...(this.#o.redact ? { redact: this.#o.redact } : {}),
    });
  }

  /** First thing of start(): refuses a second start, status "starting". */
  starting(): void {
    if (this.#started) throw new Error(`${this.type} already started`);
    this.#started = true;
    this.setStatus("starting");
  }

  /**
   * Keeps `work` (the network's receiving, started by start()) as what stop() waits for. A failure
   * that stop() did not cause ends it with status "failed" (logged, never thrown into the relay).
   */
  run(work: () => Promise<void>): void {
    this.#running = work().catch((err: unknown) => {
      if (this.stopping) return;
      const detail = this.#redact((err as Error).message ?? String(err));
      this.log.error({ err: detail }, `${this.type}: stopped by an error`);
      this.setStatus("failed", detail);
    });
  }

  /**
   * Runs sessions until stop(). A session connects, identifies (then calls failures.ok()) and
   * receives until it ends; it resolves with the ms to wait before the next one (0: at once), or
   * throws when it could not get going, `failure` saying what the error means.
   */
  async supervise(session: () => Promise<number>, failure: (err: unknown) => Failure): Promise<void> {
    while (!this.stopping) {
      let wait: number;
      try {
        wait = await session();
      } catch (err) {
        if (this.stopping) break;
        wait = this.#waitAfter(failure(err), this.failures);
      }
      if (wait > 0) await this.sleep(wait);
    }
  }

  /**
   * Tries `attempt` until it succeeds (then failures.ok()) or stop() comes, waiting after each
   * failure as supervise() does (counted in `failures`, by default the network's); resolves with
   * its result, or undefined when stopped first.
   */
  async untilDone<T>(attempt: () => Promise<T>, failure: (err: unknown) => Failure, failures = this.failures): Promise<T | undefined> {
    while (!this.stopping) {
      try {
        const result = await attempt();
        failures.ok();
        return result;
      } catch (err) {
        if (this.stopping) break;
        await this.sleep(this.#waitAfter(failure(err), failures));
      }
    }
    return undefined;
  }

  #waitAfter(f: Failure, failures: Failures): number {
    return "auth" in f ? failures.authFailed(f.auth) : failures.failed(f.state, f.detail, f.what);
  }

  /**
   * Stops: aborts every wait, waits for the work under way (at most stopTimeoutMs: a hung peer
   * cannot hold the bridge's shutdown), runs `close` (sockets, listeners, files), status "stopped".
   */
  async stop(close?: () => Promise<void>): Promise<void> {
    this.#main.abort();
    const bound = new AbortController();
    const limit = this.#o.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const finished = await Promise.race([
      this.#running.then(() => true),
      sleep(limit, false, { signal: bound.signal }).catch(() => false),
    ]);
    bound.abort();
    if (!finished) this.log.warn({ waitedMs: limit }, `${this.type}: work still under way at stop; closing anyway`);
    try {
      await close?.();
    } finally {
      this.setStatus("stopped");
    }
  }

  /** Hands `msg` to the sink and resolves once it is durable; a failing sink is retried, never skipped (rejects only on stop()). */
  deliver(sink: MessageSink, msg: InboundMessage): Promise<void> {
    return deliverWithRetry(sink, msg, { backoff: this.backoff, log: this.log, network: this.type, signal: this.signal });
  }

  /**
   * An inbound event that cannot be a message: logged with `context` (its id; events of the same
   * context again at most once a minute, so {} groups events without an id), counted through
   * onEventRejected, and skipped by the caller.
   */
  rejected(reason: string, context: Record<string, unknown>, what = "event"): void {
    this.warnings.warn(`rejected:${what}:${JSON.stringify(context)}`, { ...context, why: reason }, `${this.type}: ${what} rejected and skipped`);
    try {
      this.#o.onEventRejected?.(reason);
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, `${this.type}: onEventRejected failed`);
    }
  }

  /**
   * Refuses (fatal) a text longer than `max` UTF-16 units, the relay's measure: the relay splits
   * at maxMessageLength, so only a caller that skipped the split meets this. A network never
   * splits a send itself: one send() is one wire message with one outcome.
   */
  refuseTooLong(group: string, text: string, max: number): void {
    if (text.length > max) throw new SendError(`${this.type}: send to ${group}: text of ${text.length} characters is over the limit of ${max} (the relay splits before)`, "fatal");
  }

  /** Waits `ms`, or less when stop() comes first; never throws. */
  async sleep(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.signal }).catch(() => undefined);
  }

  #redact(detail: string): string {
    return this.#o.redact?.(detail) ?? detail;
  }
}
