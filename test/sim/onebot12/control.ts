// The simulator's control API over HTTP (/_sim/...), for the demo and for other processes.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PollFault, SendFault, SimState } from "./state.ts";

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  const v: unknown = JSON.parse(text);
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("body is not a JSON object");
  return v as Record<string, unknown>;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * POST /_sim/inject {group, member:{user_id,user_name,user_displayname?}, message}  → {message_id}
 * GET  /_sim/sent[?group=G]   GET /_sim/wait-sent?group=G&n=N
 * POST /_sim/fail-poll {fault, count?}   POST /_sim/fail-send {fault, count?}
 * GET  /_sim/state   GET /_sim/file/ID (the URL get_file hands out)
 */
export async function control(url: URL, req: IncomingMessage, res: ServerResponse, state: SimState): Promise<void> {
  try {
    if (url.pathname.startsWith("/_sim/file/")) {
      res.writeHead(200, { "content-type": "image/png", "content-length": 0 });
      res.end();
      return;
    }
    switch (url.pathname) {
      case "/_sim/inject": {
        const b = await readJson(req);
        return reply(res, 200, { message_id: state.inject(b as unknown as Parameters<SimState["inject"]>[0]) });
      }
      case "/_sim/sent":
        return reply(res, 200, state.sentTo(url.searchParams.get("group") ?? undefined));
      case "/_sim/wait-sent": {
        const ac = new AbortController();
        res.on("close", () => ac.abort());
        const list = await state.waitForSent(url.searchParams.get("group") ?? "", Number(url.searchParams.get("n") ?? 1), ac.signal);
        return reply(res, 200, list);
      }
      case "/_sim/fail-poll":
      case "/_sim/fail-send": {
        const b = await readJson(req);
        const count = typeof b.count === "number" ? b.count : 1;
        for (let i = 0; i < count; i++) {
          if (url.pathname === "/_sim/fail-poll") state.pollFaults.push(b.fault as PollFault);
          else state.sendFaults.push(b.fault as SendFault);
        }
        return reply(res, 200, { queued: count });
      }
      case "/_sim/state":
        return reply(res, 200, { counters: state.counters, buffered: state.buffer.length, sent: state.sent.length, violations: state.violations });
      default:
        return reply(res, 404, { error: `no control endpoint ${url.pathname}` });
    }
  } catch (err) {
    if (!res.headersSent) reply(res, 400, { error: (err as Error).message });
  }
}
