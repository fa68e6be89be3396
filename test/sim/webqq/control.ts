// The simulator's control API over HTTP (/_sim/...), for the demo and for other processes.
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerControl } from "../shared/control.ts";
import { readJsonObject } from "../shared/http.ts";
import { queueFault } from "../shared/control.ts";
import { SEND_FAULTS, type SendFault, type SimState } from "./state.ts";

/** A send fault named over HTTP: one of SEND_FAULTS or {retcode: N}; anything else is refused. */
export function parseSendFault(v: unknown): SendFault {
  if (typeof v === "string" && SEND_FAULTS.includes(v)) return v as SendFault;
  if (typeof v === "object" && v !== null && Number.isInteger((v as { retcode?: unknown }).retcode)) return { retcode: (v as { retcode: number }).retcode };
  throw new Error(`unknown send fault ${JSON.stringify(v)} (known: ${SEND_FAULTS.join(", ")}, {retcode: N})`);
}

/**
 * POST /_sim/inject {group, sender:{name,card?}, content}   → {msgId}
 * GET  /_sim/sent[?group=G]                                  → SentMessage[]
 * GET  /_sim/wait-sent?group=G&n=N                           → SentMessage[] once N were sent
 * POST /_sim/fail-poll {fault, count?}   POST /_sim/fail-send {fault, count?}
 * POST /_sim/expire-qr   POST|GET /_sim/scan[?k=KEY]   GET /_sim/state
 * POST /_sim/lose-session   (the login2 session is gone now: the next poll2/send answers 121)
 * POST /_sim/refuse-relink  (the web login's cookies no longer relink: getvfwebqq 100001, login2 103)
 */
export async function control(url: URL, req: IncomingMessage, res: ServerResponse, state: SimState): Promise<void> {
  await answerControl(url, req, res, state, {
    "/_sim/inject": async (r) => ({ msgId: state.inject((await readJsonObject(r)) as unknown as Parameters<SimState["inject"]>[0]) }),
    "/_sim/expire-qr": () => {
      state.expireQr();
      return { ok: true };
    },
    "/_sim/scan": (_r, u) => ({ scanned: state.scan(u.searchParams.get("k") ?? undefined) }),
    "/_sim/fail-send": async (r) => {
      const b = await readJsonObject(r);
      const count = b.count === undefined ? 1 : b.count;
      if (!Number.isInteger(count) || (count as number) < 1) throw new Error("count must be a positive integer");
      queueFault(state.sendFaults, parseSendFault(b.fault), count as number);
      return { queued: count };
    },
    "/_sim/lose-session": () => {
      state.dropSession();
      return { ok: true };
    },
    "/_sim/refuse-relink": () => ({ ok: state.refuseRelink() }),
    "/_sim/state": () => ({
      counters: state.counters,
      loggedIn: state.session !== null,
      relinkRefused: state.web?.relinkRefused ?? false,
      queued: state.queue.length,
      sent: state.sent.length,
      violations: state.violations,
    }),
  });
}
