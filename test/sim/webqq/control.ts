// The simulator's control API over HTTP (/_sim/...), for the demo and for other processes.
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerControl } from "../shared/control.ts";
import { readJsonObject } from "../shared/http.ts";
import type { SimState } from "./state.ts";

/**
 * POST /_sim/inject {group, sender:{name,card?}, content}   → {msgId}
 * GET  /_sim/sent[?group=G]                                  → SentMessage[]
 * GET  /_sim/wait-sent?group=G&n=N                           → SentMessage[] once N were sent
 * POST /_sim/fail-poll {fault, count?}   POST /_sim/fail-send {fault, count?}
 * POST /_sim/expire-qr   POST|GET /_sim/scan[?k=KEY]   GET /_sim/state
 */
export async function control(url: URL, req: IncomingMessage, res: ServerResponse, state: SimState): Promise<void> {
  await answerControl(url, req, res, state, {
    "/_sim/inject": async (r) => ({ msgId: state.inject((await readJsonObject(r)) as unknown as Parameters<SimState["inject"]>[0]) }),
    "/_sim/expire-qr": () => {
      state.expireQr();
      return { ok: true };
    },
    "/_sim/scan": (_r, u) => ({ scanned: state.scan(u.searchParams.get("k") ?? undefined) }),
    "/_sim/state": () => ({
      counters: state.counters,
      loggedIn: state.session !== null,
      queued: state.queue.length,
      sent: state.sent.length,
      violations: state.violations,
    }),
  });
}
