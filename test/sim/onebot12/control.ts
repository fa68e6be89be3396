// The simulator's control API over HTTP (/_sim/...), for the demo and for other processes.
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerControl } from "../shared/control.ts";
import { readJsonObject } from "../shared/http.ts";
import type { SimState } from "./state.ts";

/**
 * POST /_sim/inject {group, member:{user_id,user_name,user_displayname?}, message}  → {message_id}
 * GET  /_sim/sent[?group=G]   GET /_sim/wait-sent?group=G&n=N
 * POST /_sim/fail-poll {fault, count?}   POST /_sim/fail-send {fault, count?}
 * GET  /_sim/state   GET /_sim/file/ID (the URL get_file hands out)
 */
export async function control(url: URL, req: IncomingMessage, res: ServerResponse, state: SimState): Promise<void> {
  if (url.pathname.startsWith("/_sim/file/")) {
    // A file the sim holds; any other file_id gets an empty picture (as before files were kept).
    const file = state.files.get(decodeURIComponent(url.pathname.slice("/_sim/file/".length)));
    res.writeHead(200, { "content-type": file?.mime ?? "image/png", "content-length": file?.data.byteLength ?? 0 });
    res.end(file?.data);
    return;
  }
  await answerControl(url, req, res, state, {
    "/_sim/inject": async (r) => ({ message_id: state.inject((await readJsonObject(r)) as unknown as Parameters<SimState["inject"]>[0]) }),
    "/_sim/state": () => ({ counters: state.counters, buffered: state.buffer.length, sent: state.sent.length, violations: state.violations }),
  });
}
