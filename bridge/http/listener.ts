// The one HTTP listener every server of the bridge is built on (webhooks, /metrics and /healthz):
// bounded against hostile peers (connections, header and body size, slow requests), a request
// that cannot even be parsed gets 400 and at most a debug line, and close() waits for the
// requests under way. Handlers see a parsed URL and read bodies through readBody().
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "pino";
import { parseListen } from "../config/listen.ts";

export interface ListenerLimits {
  /** Open connections at once; more are refused by the kernel backlog. Default 64. */
  maxConnections?: number;
  /** The whole request (headers and body) must arrive within this; default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Default 8 KiB. */
  maxHeaderBytes?: number;
}

export interface ListenerOptions extends ListenerLimits {
  listen: string;
  /** For log lines: "onebot11 webhook", "observe". */
  name: string;
  log: Logger;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

export interface Listener {
  /** Base URL, e.g. http://127.0.0.1:9464 (the real port when listen asked for port 0). */
  readonly url: string;
  close(): Promise<void>;
}

export function reply(res: ServerResponse, status: number, message?: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  if (message === undefined) return void res.writeHead(status, headers).end();
  const body = `${message}\n`;
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(body)), ...headers }).end(body);
}

/**
 * The request body, or null when it is larger than `maxBytes` (the rest is not read: answer 413
 * and the connection is closed). Check the length header first, so a declared giant is refused
 * before a byte is buffered.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > maxBytes) return null;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startListener(o: ListenerOptions): Promise<Listener> {
  const { host, port } = parseListen(o.listen);
  const inFlight = new Set<Promise<void>>();
  const timeout = o.requestTimeoutMs ?? 10_000;
  const server: Server = createServer(
    // Node checks these timeouts only every connectionsCheckingInterval (default 30 s): check often
    // enough that a stalled request really ends near its timeout.
    { requestTimeout: timeout, headersTimeout: Math.min(timeout, 10_000), maxHeaderSize: o.maxHeaderBytes ?? 8192, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeout / 4))) },
    (req, res) => {
      let url: URL;
      try {
        url = new URL(req.url ?? "/", "http://listener.invalid");
      } catch {
        o.log.debug({ name: o.name }, "unparsable request target; answered 400");
        return reply(res, 400, "bad request", { connection: "close" });
      }
      const work = o.handle(req, res, url).catch((err: unknown) => {
        o.log.error({ err: err instanceof Error ? err.message : String(err), path: url.pathname }, `${o.name}: request failed`);
        if (res.headersSent) res.destroy();
        else reply(res, 500, "error");
      });
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    },
  );
  server.maxConnections = o.maxConnections ?? 64;
  // A request line or header block Node cannot parse: 400 (or 431/408 as Node chose), never a stack.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    o.log.debug({ code: err.code }, `${o.name}: malformed request refused`);
    if (!socket.writable) return void socket.destroy();
    const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`${o.name}: cannot listen on ${o.listen}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(inFlight);
      server.closeAllConnections(); // what is left are idle keep-alive connections
      await closed;
    },
  };
}
