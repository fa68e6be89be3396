// Hands one inbound message to the relay's sink, retrying a failing sink with backoff until it
// takes the message or the signal aborts: a message the server handed over is never dropped.
// A sink that hangs does not hang stop(): the abort ends the wait, and as the message was not
// acknowledged (or is still in the network's pending file) it comes again; ids dedupe it.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { backoffDelay } from "../../../src/index.ts";
import type { InboundMessage, MessageSink } from "../../network.ts";

export interface DeliverOptions {
  backoff: { min: number; max: number };
  log: Logger;
  /** The network type, prefixed to the log line ("webqq: sink failed; …"). */
  network: string;
  signal: AbortSignal;
}

/** `p`, or a rejection once `signal` aborts while `p` is still pending (a settled `p` wins). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  p.catch(() => undefined); // its rejection after the abort is not unhandled
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

/** Resolves once the sink accepted `msg`; rejects only when `signal` aborts. */
export async function deliverWithRetry(sink: MessageSink, msg: InboundMessage, o: DeliverOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await untilAborted(sink(msg), o.signal);
      return;
    } catch (err) {
      if (o.signal.aborted) throw err;
      const wait = backoffDelay(attempt, o.backoff);
      o.log.warn({ err: (err as Error).message, id: msg.id, attempt, retryIn: wait }, `${o.network}: sink failed; keeping the message and retrying`);
      await sleep(wait, undefined, { signal: o.signal });
    }
  }
}
