// The simulator's control API over HTTP (/_sim/...), for standalone runs and other processes.
import type { IncomingMessage, ServerResponse } from "node:http";
import { answerControl } from "../shared/control.ts";
import { readJsonObject } from "../shared/http.ts";
import type { SimState } from "./state.ts";

/**
 * POST /_sim/inject {chat, from:{id,first_name,…}, text?, thread?, extra?}  → {updateId, messageId}
 * GET  /_sim/sent[?group=G]       GET /_sim/wait-sent?group=G&n=N  (answers once N were sent)
 * POST /_sim/fail-poll {fault, count?}    POST /_sim/fail-send {fault, count?}
 * POST /_sim/edit {chat, messageId, text} → {updateId}   POST /_sim/file {base64, path?} → {file_id, file_unique_id, file_size}
 * POST /_sim/webhook {url}  ("" deletes)  GET /_sim/state
 */
export async function control(url: URL, req: IncomingMessage, res: ServerResponse, state: SimState): Promise<void> {
  await answerControl(url, req, res, state, {
    "/_sim/inject": async (r) => state.inject((await readJsonObject(r)) as unknown as Parameters<SimState["inject"]>[0]),
    "/_sim/edit": async (r) => {
      const b = await readJsonObject(r);
      return { updateId: state.injectEdit(b.chat as string | number, Number(b.messageId), String(b.text)) };
    },
    "/_sim/file": async (r) => {
      const b = await readJsonObject(r);
      return state.addFile(Buffer.from(String(b.base64 ?? ""), "base64"), typeof b.path === "string" ? b.path : undefined);
    },
    "/_sim/webhook": async (r) => {
      state.webhook = String((await readJsonObject(r)).url ?? "");
      return { webhook: state.webhook };
    },
    "/_sim/state": () => ({ counters: state.counters, queued: state.queue.length, sent: state.sent.length, confirmedBelow: state.confirmedBelow, violations: state.violations }),
  });
}
