// Reading request bodies and writing JSON answers, as every simulator does.
import type { IncomingMessage, ServerResponse } from "node:http";

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The body as a JSON object ({} when empty); throws on anything else. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === "") return {};
  const v: unknown = JSON.parse(text);
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("body is not a JSON object");
  return v as Record<string, unknown>;
}

export function replyJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Leaves the request unanswered (a stalled server) until the client gives up or the sim closes. */
export function stall(res: ServerResponse, open: Set<ServerResponse>): void {
  open.add(res);
  res.on("close", () => open.delete(res));
}
