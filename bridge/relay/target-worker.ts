// One worker per target sends that target's outbox items one at a time, oldest first, so the
// target sees messages in order; a target that is down or failing holds only its own queue.
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import type { Outbox, OutboxItem } from "../store/outbox.ts";
import type { TokenBucket } from "./token-bucket.ts";
import type { SendOutcome, Target } from "./target.ts";

export interface Backoff {
  /** ms before the first retry; doubles per consecutive failure, with full jitter. */
  min: number;
  max: number;
}

export interface WorkerDeps {
  target: Target;
  outbox: Outbox;
  bucket: TokenBucket;
  backoff: Backoff;
  logger: Logger;
  /** Called after every send outcome; `changed` is false when someone else settled it first. */
  onSettled(item: OutboxItem, outcome: SendOutcome["kind"], changed: boolean): void;
}

export class TargetWorker {
  readonly target: Target;
  readonly #d: WorkerDeps;
  readonly #abort = new AbortController();
  #dirty = false;
  #wake: (() => void) | undefined;
  #failures = 0;
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

  /** Something changed (new item, target state, a reflection): look again. */
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

  async #waitForChange(): Promise<void> {
    if (this.#dirty) return;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    this.#wake = undefined;
  }

  async #loop(): Promise<void> {
    const { outbox, target, logger } = this.#d;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      this.#dirty = false;
      const item = outbox.next(target.key);
      if (!item || !target.ready()) {
        await this.#waitForChange();
        continue;
      }
      if (item.attemptedAt !== null) {
        const verdict = target.resendVerdict(item);
        if (verdict === "wait") {
          await this.#waitForChange();
          continue;
        }
        if (verdict === "unknown") {
          this.#settle(item, { kind: "unknown", error: "a send was interrupted (restart); it may have been delivered" });
          continue;
        }
      }
      await this.#d.bucket.take(signal);
      // A reflection may have confirmed it while we waited for a token.
      if (outbox.get(item.id)?.state !== "pending") continue;
      outbox.markAttempt(item.id);
      logger.debug({ target: target.key, item: item.id, originId: item.originId }, "sending");
      const outcome = await target.send(item);
      this.#settle(item, outcome);
      if (outcome.kind === "retry") {
        this.#failures += 1;
        const ms = outcome.afterMs ?? Math.random() * Math.min(this.#d.backoff.max, this.#d.backoff.min * 2 ** (this.#failures - 1));
        await delay(ms, undefined, { signal }).catch(() => {});
      } else {
        this.#failures = 0;
      }
    }
  }

  #settle(item: OutboxItem, outcome: SendOutcome): void {
    const { outbox, target, logger } = this.#d;
    const ctx = { target: target.key, item: item.id, originId: item.originId };
    let changed = false;
    switch (outcome.kind) {
      case "delivered":
        changed = outbox.markDelivered(item.id, outcome.resultId);
        logger.debug(ctx, "delivered");
        break;
      case "retry":
        outbox.clearAttempt(item.id, outcome.error);
        logger.warn({ ...ctx, error: outcome.error, afterMs: outcome.afterMs }, "send failed, will retry");
        break;
      case "verify-later":
        logger.warn({ ...ctx, error: outcome.error }, "send not confirmed; resent only if the next join's history does not show it");
        break;
      case "fatal":
        changed = outbox.settle(item.id, "failed", outcome.error);
        logger.error({ ...ctx, error: outcome.error }, "message cannot be delivered; kept as failed");
        break;
      case "unknown":
        changed = outbox.settle(item.id, "unknown", outcome.error);
        logger.error({ ...ctx, error: outcome.error }, "message may or may not have been delivered; kept as unknown, not resent");
        break;
    }
    this.#d.onSettled(item, outcome.kind, changed);
  }
}
