// The control API every simulator serves under /_sim/ (for standalone runs and other processes):
// its own endpoints plus the common ones over sent messages and injected faults.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultDraw } from "./fault-draw.ts";
import { readJsonObject, replyJson } from "./http.ts";

/** What the common endpoints need of a simulator's state. */
export interface ControlState {
  sentTo(group?: string): unknown[];
  waitForSent(group: string, n: number, signal: AbortSignal): Promise<unknown[]>;
  pollFaults: unknown[];
  sendFaults: unknown[];
  /** Send faults drawn per request (when no queued one is due); absent: the sim draws none. */
  sendDraw?: FaultDraw;
}

/** A simulator's own endpoint: answers 200 with what it returns. */
export type ControlRoute = (req: IncomingMessage, url: URL) => unknown;

/** Queues `fault` for the next `count` requests. */
export function queueFault<F>(queue: F[], fault: F, count = 1): void {
  for (let i = 0; i < count; i++) queue.push(fault);
}

/**
 * Answers one /_sim/ request: `routes` first, then
 * GET /_sim/sent[?group=G], GET /_sim/wait-sent?group=G&n=N (once N were sent),
 * POST /_sim/fail-poll {fault, count?}, POST /_sim/fail-send {fault, count?},
 * POST /_sim/fault-rates {send: {fault: probability, ...}, seed?} (faults drawn per send request),
 * GET /_sim/fault-counts (what the draw injected).
 * 404 for an unknown path, 400 with the reason for a bad body.
 */
export async function answerControl(url: URL, req: IncomingMessage, res: ServerResponse, state: ControlState, routes: Record<string, ControlRoute>): Promise<void> {
  try {
    const own = routes[url.pathname];
    if (own) return replyJson(res, 200, await own(req, url));
    switch (url.pathname) {
      case "/_sim/sent":
        return replyJson(res, 200, state.sentTo(url.searchParams.get("group") ?? undefined));
      case "/_sim/wait-sent": {
        const ac = new AbortController();
        res.on("close", () => ac.abort());
        const list = await state.waitForSent(url.searchParams.get("group") ?? "", Number(url.searchParams.get("n") ?? 1), ac.signal);
        return replyJson(res, 200, list);
      }
      case "/_sim/fail-poll":
      case "/_sim/fail-send": {
        const b = await readJsonObject(req);
        const count = typeof b.count === "number" ? b.count : 1;
        queueFault(url.pathname === "/_sim/fail-poll" ? state.pollFaults : state.sendFaults, b.fault, count);
        return replyJson(res, 200, { queued: count });
      }
      case "/_sim/fault-rates": {
        if (!state.sendDraw) return replyJson(res, 404, { error: "this simulator draws no faults" });
        const b = await readJsonObject(req);
        state.sendDraw.configure(b.send ?? {}, b.seed);
        return replyJson(res, 200, { send: b.send ?? {} });
      }
      case "/_sim/fault-counts":
        if (!state.sendDraw) return replyJson(res, 404, { error: "this simulator draws no faults" });
        return replyJson(res, 200, state.sendDraw.counts());
      default:
        return replyJson(res, 404, { error: `no control endpoint ${url.pathname}` });
    }
  } catch (err) {
    if (!res.headersSent) replyJson(res, 400, { error: (err as Error).message });
  }
}
