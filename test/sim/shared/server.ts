// The loopback HTTP server a simulator runs on: a simulator bug answers 500 (never hangs the
// client), and close() ends parked requests first so that it does not wait for their holds.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SimServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
}

export interface SimServerOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Answers one request; `url` is the request's URL resolved against the server's. */
  handle: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  /** Responses still open at close (parked polls, streams): destroyed first. */
  open: () => Iterable<ServerResponse>;
}

export async function startSimServer(o: SimServerOptions): Promise<SimServer> {
  let url = "";
  const server = createServer((req, res) => {
    o.handle(req, res, new URL(req.url ?? "/", url)).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`simulator error: ${(err as Error).message}`);
      } else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: async () => {
      for (const res of o.open()) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
