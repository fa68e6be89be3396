// One worker per target sends that target's outbox items one at a time, oldest first, so the
// target sees messages in order; a target that is down or failing holds only its own queue.
// Because the next item is sent only once the one before is settled, a target has at most one
// unconfirmed item at a time: an echo of our own send can only be that item's.
//
// No outcome is terminal except a dead letter: an item the target refuses for good, or one that
// still fails `deadLetterAfterMs` after its first failure. Then the queue moves on.
//
// The wait after a failure (src/ backoffDelay, full jitter) grows with the failures in a row, so a
// target that is down is not hammered; a delay the target names (retryAfterMs) is honoured as
// given. A maybe-delivered send is not a sign of a target that is down (the request reached it):
// its wait before the evidence is read, or the item resent, stays short (UNCONFIRMED_BACKOFF_MAX_MS),
// so that a few transient faults on one item cannot hold the queue for a minute.
import type { Logger } from "pino";
import { backoffDelay } from "../../src/index.ts";
import type { Outbox, OutboxItem } from "../store/outbox.ts";
import type { TokenBucket } from "./token-bucket.ts";
import type { SendOutcome, Target } from "./target.ts";

export interface Backoff {
  /** ms before the first retry; doubles per consecutive failure, with full jitter. */
  min: number;
  max: number;
}

/** The longest wait after a maybe-delivered send (capped by Backoff.max when that is lower). */
export const UNCONFIRMED_BACKOFF_MAX_MS = 5_000;

/**
 * How long an item waits after its `failures`-th failure in a row: the target's own delay when it
 * named one, else the project's backoff (src/ backoffDelay), capped at UNCONFIRMED_BACKOFF_MAX_MS
 * when the send may have been delivered (the target answered or took the request: not down).
 */
export function retryWaitMs(failures: number, backoff: Backoff, o: { maybeDelivered: boolean; afterMs?: number }, random: () => number = Math.random): number {
  if (o.afterMs !== undefined) return o.afterMs;
  return backoffDelay(failures, o.maybeDelivered ? { min: backoff.min, max: Math.min(backoff.max, UNCONFIRMED_BACKOFF_MAX_MS) } : backoff, random);
}

/** What happened to an item, as the relay hears it. */
export type SettleKind = "delivered" | "retry" | "unconfirmed" | "dead-letter" | "resent-unconfirmed";

export interface WorkerDeps {
  target: Target;
  outbox: Outbox;
  bucket: TokenBucket;
  backoff: Backoff;
  logger: Logger;
  /** Wall clock (ms epoch) for stored times and the dead-letter age; tests inject one. */
  now: () => number;
  deadLetterAfterMs: number;
  /** `changed` is false when someone else settled the item first (e.g. its echo). */
  onSettled(item: OutboxItem, kind: SettleKind, info: { changed: boolean; error?: string }): void;
}

export class TargetWorker {
  readonly target: Target;
  readonly #d: WorkerDeps;
  readonly #abort = new AbortController();
  #dirty = false;
  #wake: (() => void) | undefined;
  #failures = 0;
  /** After a failure, the item is not tried again before `until` (monotonic ms). */
  #backoff: { id: number; until: number } | undefined;
  #done: Promise<void> | undefined;

  constructor(deps: WorkerDeps) {
    this.#d = deps;
    this.target = deps.target;
    deps.target.onChange(() => this.notify());
  }

  start(): void {
    this.#done ??= this.#loop().catch((err: unknown) => {
      if (!this.#abort.signal.aborted) this.#d.logger.error({ err, target: this.target.key }, "outbox worker stopped");
    });
  }

  /** Something changed (new item, target state, a confirmation): look again. */
  notify(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Stops after the send in flight (if any) finished; pending items stay in the outbox. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error("worker stopped"));
    this.#wake?.();
    await this.#done;
  }

  /** Until notify(), stop(), or `ms` passed. */
  async #waitForChange(ms?: number): Promise<void> {
    if (this.#dirty || this.#abort.signal.aborted) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (ms !== undefined) timer = setTimeout(resolve, Math.max(0, Math.ceil(ms)));
    });
    clearTimeout(timer);
    this.#wake = undefined;
  }

  #pending(id: number): boolean {
    return this.#d.outbox.get(id)?.state === "pending";
  }

  async #loop(): Promise<void> {
    const { outbox, target } = this.#d;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      this.#dirty = false;
      const item = outbox.next(target.key);
      if (!item || !target.ready()) {
        await this.#waitForChange();
        continue;
      }
      if (this.#backoff?.id === item.id) {
        const left = this.#backoff.until - performance.now();
        if (left > 0) {
          await this.#waitForChange(left);
          continue;
        }
      }
      let resend: string | undefined;
      if (item.attemptedAt !== null) {
        const verdict = await target.check(item);
        if (signal.aborted) break;
        if (!this.#pending(item.id)) continue; // confirmed while we looked (an echo, a reflection)
        switch (verdict.kind) {
          case "wait":
            await this.#waitForChange(verdict.ms);
            continue;
          case "delivered":
            this.#delivered(item, verdict.resultId, "found in the target's history");
            continue;
          case "check-failed":
            this.#failed(item, verdict.error, true);
            continue;
          case "resend-unconfirmed":
            resend = verdict.reason;
            break;
          case "send":
            break;
        }
      }
      await this.#d.bucket.take(signal);
      // A confirmation may have come while we waited for a token.
      if (!this.#pending(item.id)) continue;
      if (resend !== undefined) {
        this.#d.logger.warn({ target: target.key, item: item.id, reason: resend }, "resending a send whose delivery cannot be confirmed: the group may see it twice");
        this.#d.onSettled(item, "resent-unconfirmed", { changed: false });
      }
      outbox.markAttempt(item.id, this.#d.now());
      this.#d.logger.debug({ target: target.key, item: item.id, originId: item.originId }, "sending");
      // A resend of a send nothing could confirm: the earlier send may still have landed, so
      // whatever this attempt says, the item stays unconfirmed (a late echo can still confirm it).
      this.#outcome(item, await target.send(item), resend !== undefined);
    }
  }

  #outcome(item: OutboxItem, outcome: SendOutcome, maybeSentBefore: boolean): void {
    switch (outcome.kind) {
      case "delivered":
        return this.#delivered(item, outcome.resultId);
      case "retry":
        return this.#failed(item, outcome.error, maybeSentBefore, outcome.afterMs);
      case "unconfirmed":
        return this.#failed(item, outcome.error, true);
      case "fatal":
        return this.#deadLetter(item, outcome.error);
    }
  }

  #delivered(item: OutboxItem, resultId: string | undefined, how?: string): void {
    const changed = this.#d.outbox.markDelivered(item.id, resultId, this.#d.now()) !== undefined;
    this.#failures = 0;
    this.#backoff = undefined;
    this.#d.logger.debug({ target: this.target.key, item: item.id, originId: item.originId, how }, "delivered");
    this.#d.onSettled(item, "delivered", { changed });
  }

  /** A failed send (or evidence that could not be read): backed off, or a dead letter once it failed long enough. */
  #failed(item: OutboxItem, error: string, maybeDelivered: boolean, afterMs?: number): void {
    const { outbox, logger, backoff, now, deadLetterAfterMs } = this.#d;
    const since = outbox.markFailed(item.id, error, maybeDelivered, now());
    if (since === undefined) return; // settled meanwhile
    if (now() - since >= deadLetterAfterMs) {
      this.#deadLetter(item, `still failing after ${Math.round((now() - since) / 1000)} s: ${error}`);
      return;
    }
    this.#failures += 1;
    const ms = retryWaitMs(this.#failures, backoff, { maybeDelivered, afterMs });
    this.#backoff = { id: item.id, until: performance.now() + ms };
    const ctx = { target: this.target.key, item: item.id, originId: item.originId, error };
    if (maybeDelivered) logger.warn(ctx, "send not confirmed; it is settled by the target's evidence before any resend");
    else logger.warn({ ...ctx, afterMs: afterMs }, "send failed, will retry");
    this.#d.onSettled(item, maybeDelivered ? "unconfirmed" : "retry", { changed: true, error });
  }

  #deadLetter(item: OutboxItem, error: string): void {
    const changed = this.#d.outbox.deadLetter(item.id, error, this.#d.now());
    this.#failures = 0;
    this.#backoff = undefined;
    this.#d.onSettled(item, "dead-letter", { changed, error });
  }
}
