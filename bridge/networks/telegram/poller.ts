// The getUpdates long-poll chain (protocols.md §4). The next poll is armed only after every
// update of an answer went through onUpdates: its higher offset is what confirms them upstream.
import type { Logger } from "pino";
import { z } from "zod";
import { backoffDelay, classifyFailure, redactText, type HTTPStream, type Step, type StepContext, type StreamResponse } from "../../../src/index.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import { ApiError, BadAnswerError, deleteWebhookRequest, getUpdatesRequest, readAnswer, type BotApi } from "./api.ts";

/** The result of an ok getUpdates: a list (each update is read on its own, see inbound.ts). */
const UpdateList = z.array(z.unknown());

export interface PollerOptions {
  stream: HTTPStream;
  api: BotApi;
  log: Logger;
  /** Hold asked of the server, in seconds (1–50). */
  timeout: number;
  backoff: { min: number; max: number };
  signal: AbortSignal;
  /** The offset of the next poll (undefined: from the earliest unconfirmed update). */
  offset: () => number | undefined;
  /**
   * Handles one answer's updates in order; resolves once every one is durable, with whether the
   * offset moved (an answer that moves nothing is unusable: it would be served again at once).
   */
  onUpdates: (updates: unknown[]) => Promise<boolean>;
  /** Warnings a server can make us repeat go through this (once a minute, with a count). */
  warnings: RepeatedWarning;
  /** The server answered a poll. */
  onAnswer: () => void;
  /** Polling is in trouble ("offline", "retrying", "conflict"); it goes on by itself. */
  onTrouble: (state: string, detail: string) => void;
}

/** Why the chain ended: the token was refused, or the signal aborted. */
export type PollEnd = { reason: "auth"; error: ApiError } | { reason: "stopped" };

export function runPoller(o: PollerOptions): Promise<PollEnd> {
  let end: PollEnd = { reason: "stopped" };
  let failures = 0;
  const secrets = [o.api.token];

  const step = (delay = 0): Step => ({ request: getUpdatesRequest(o.api, o.offset(), o.timeout), readback, delay });
  // At least the short end of the backoff: a server answering the same bad thing at once is never spun on.
  const backoffStep = (n: number): Step => step(Math.max(1, o.backoff.min, backoffDelay(n, o.backoff)));

  async function readback(res: StreamResponse, ctx: StepContext): Promise<Step | undefined> {
    let result: unknown;
    try {
      result = await readAnswer(res, "getUpdates");
    } catch (err) {
      if (!(err instanceof ApiError)) throw err; // unreadable: the error policy backs off
      return await refused(err, ctx);
    }
    const list = UpdateList.safeParse(result);
    if (!list.success) throw new BadAnswerError("getUpdates", res.status, "result is not a list");
    const updates = list.data;
    const moved = await o.onUpdates(updates);
    if (updates.length > 0 && !moved) {
      // Updates, but none the offset can move past (no update_id, or all confirmed already):
      // the next poll would get the same answer at once.
      failures++;
      o.onTrouble("retrying", "the server repeats updates the offset cannot confirm");
      o.warnings.warn("getUpdates:no-progress", { updates: updates.length, failures }, "telegram: getUpdates answered only updates the offset cannot move past; backing off");
      return backoffStep(failures);
    }
    failures = 0;
    o.onAnswer();
    return step();
  }

  async function refused(err: ApiError, ctx: StepContext): Promise<Step | undefined> {
    if (err.authFailure) {
      end = { reason: "auth", error: err };
      return undefined;
    }
    failures++;
    if (err.code === 429) {
      // The server's wait, at least: polling sooner only earns another 429.
      const wait = Math.max(err.retryAfterMs ?? 0, backoffDelay(failures, o.backoff), o.backoff.min, 1);
      o.warnings.warn("getUpdates:429", { retryIn: wait }, "telegram: getUpdates rate limited (429); waiting");
      return step(wait);
    }
    if (err.code === 409) {
      if (/webhook/i.test(err.description)) {
        // Updates go to a webhook until it is deleted; deleting it keeps the queued updates.
        o.warnings.warn("getUpdates:webhook", {}, "telegram: a webhook is set, so getUpdates is refused (409); deleting the webhook");
        o.onTrouble("conflict", "a webhook was set; deleting it");
        await readAnswer(await o.stream.request(deleteWebhookRequest(o.api), { signal: ctx.signal }), "deleteWebhook");
        // Once at once; a server that keeps saying so is backed off.
        return failures > 1 ? backoffStep(failures) : step();
      }
      o.onTrouble("conflict", "another getUpdates client polls with this token (a second bridge?)");
      o.warnings.warn("getUpdates:409", { failures }, "telegram: getUpdates terminated by another getUpdates request (409); is a second instance running with this token?");
      return backoffStep(failures);
    }
    o.onTrouble("retrying", redactText(err.message, secrets));
    const description = redactText(err.description, secrets);
    o.warnings.warn(`getUpdates:${err.code}:${description}`, { code: err.code, description, failures }, "telegram: getUpdates failed; backing off");
    return backoffStep(failures);
  }

  const first = step();
  const chain = o.stream.add(first.request, first.readback, {
    name: "telegram getUpdates",
    signal: o.signal,
    onError: (err: unknown, _failed: Step, ctx: StepContext) => {
      // Transport failures after HTTPStream's retries, malformed answers, a failed deleteWebhook:
      // the chain stays alive and backs off.
      failures++;
      const message = redactText((err as Error).message ?? String(err), secrets);
      o.onTrouble(classifyFailure(err) === "before-send" ? "offline" : "retrying", message);
      o.warnings.warn(`getUpdates:step:${message.slice(0, 200)}`, { err: message, failures: ctx.failures }, "telegram: getUpdates step failed; backing off");
      return backoffStep(failures);
    },
  });
  return chain.done.then(() => end);
}
