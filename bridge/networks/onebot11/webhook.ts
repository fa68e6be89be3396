// Our HTTP server for OneBot 11 HTTP POST reporting (protocols.md §2.2). With a secret, the
// `X-Signature: sha1=<hex HMAC-SHA1(secret, raw body)>` is checked, hex in either case (go-cqhttp
// lowercase, Lagrange UPPER). 204 only once the sink took the event: the reporter retries on
// anything else (go-cqhttp max-retries 3), and a retry of an event already taken is not delivered twice.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { parseListen } from "../../config/listen.ts";
import { snippet } from "./api.ts";
import type { EventIntake } from "./source.ts";

/** Larger bodies are refused (413): an event is a few kilobytes. */
export const MAX_EVENT_BYTES = 1 << 20;

export interface WebhookOptions {
  listen: string;
  path?: string;
  secret?: string;
  inbound: EventIntake;
  log: Logger;
  signal: AbortSignal;
  /** Called on every event that passed the checks (the server reaches us). */
  onEvent?: () => void;
}

export interface WebhookServer {
  /** e.g. http://127.0.0.1:5701/ (port 0 in the config: the port picked). */
  readonly url: string;
  close(): Promise<void>;
}

/** Whether `header` is `sha1=<hex>` of the body under `secret`; hex compared case-insensitively. */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  const m = /^sha1=([0-9a-f]{40})$/i.exec(header?.trim() ?? "");
  if (!m) return false;
  const expected = createHmac("sha1", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, "hex"));
}

function reply(res: ServerResponse, status: number, message?: string): void {
  if (message === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(`${message}\n`);
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_EVENT_BYTES) return null;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startWebhook(o: WebhookOptions): Promise<WebhookServer> {
  const { host, port } = parseListen(o.listen);
  const path = o.path ?? "/";
  const log = o.log;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== path) return reply(res, 404, "not found");
    if (req.method !== "POST") return reply(res, 405, "POST only");
    const body = await readBody(req);
    if (body === null) {
      log.warn({ limit: MAX_EVENT_BYTES }, "onebot11 webhook: event body too large; refused");
      return reply(res, 413, "too large");
    }
    if (o.secret !== undefined && o.secret !== "") {
      const sig = req.headers["x-signature"];
      if (typeof sig !== "string") {
        log.warn("onebot11 webhook: event without X-Signature refused (a secret is configured)");
        return reply(res, 401, "signature required");
      }
      if (!verifySignature(o.secret, body, sig)) {
        log.warn("onebot11 webhook: event with a wrong X-Signature refused (check webhook.secret; NapCat signs with its token)");
        return reply(res, 403, "bad signature");
      }
    }
    let event: unknown;
    try {
      event = JSON.parse(body.toString("utf8"));
    } catch {
      log.warn({ body: snippet(body.toString("utf8")) }, "onebot11 webhook: malformed event refused");
      return reply(res, 400, "malformed JSON");
    }
    o.onEvent?.();
    try {
      await o.inbound.handle(event);
    } catch {
      // Stopping before the sink took it: not acknowledged, so the reporter sends it again.
      return reply(res, 503, "stopping");
    }
    reply(res, 204);
  }

  const inFlight = new Set<Promise<void>>();
  const server: Server = createServer((req, res) => {
    const work = handle(req, res).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, "onebot11 webhook: request failed");
      if (!res.headersSent) reply(res, 500, "error");
      else res.destroy();
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`onebot11 webhook: cannot listen on ${o.listen}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${shown}:${addr.port}${path}`;
  log.info({ url }, "onebot11 webhook: listening");
  return {
    url,
    close: async () => {
      // stop() aborted the deliveries first: each request under way is answering 503 now.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(inFlight);
      server.closeAllConnections(); // what is left are idle keep-alive connections
      await closed;
    },
  };
}
