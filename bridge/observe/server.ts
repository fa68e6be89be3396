// The observability endpoint: GET /metrics (Prometheus text) and GET /healthz, which tells the
// truth: 200 only when every network is logged in and every room joined, else 503 saying what is down.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { BridgeMetrics } from "./metrics.ts";
import { parseListen } from "../config/listen.ts";

export interface HealthReport {
  ok: boolean;
  networks: Record<string, { ok: boolean; state: string; detail?: string }>;
  rooms: Record<string, { state: string; reason?: string }>;
  outbox: { depth: number };
}

export interface ObserveServer {
  /** Base URL, e.g. http://127.0.0.1:9464 (the real port when listen asked for port 0). */
  url: string;
  close(): Promise<void>;
}

/** The report with `ok` recomputed from its parts, so a caller cannot claim health it lacks. */
export function healthOk(report: HealthReport): boolean {
  return Object.values(report.networks).every((n) => n.ok) && Object.values(report.rooms).every((r) => r.state === "joined");
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(head ? undefined : body);
}

export async function startObserveServer(
  listen: string,
  deps: { metrics: BridgeMetrics; health: () => HealthReport; logger: Logger },
): Promise<ObserveServer> {
  const { host, port } = parseListen(listen);
  const log = deps.logger.child({ component: "observe" });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", false);
    }
    if (path === "/metrics") {
      return send(res, 200, deps.metrics.registry.contentType, await deps.metrics.registry.metrics(), head);
    }
    if (path === "/healthz") {
      const report = deps.health();
      const ok = report.ok && healthOk(report);
      return send(res, ok ? 200 : 503, "application/json", JSON.stringify({ ...report, ok }) + "\n", head);
    }
    send(res, 404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n", head);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, path: req.url }, "observe request failed");
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "internal error\n", false);
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(`metrics.listen ${listen}: ${err.code === "EADDRINUSE" ? "address already in use" : err.code === "EADDRNOTAVAIL" ? "no such local address" : err.message}`, { cause: err })),
    );
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      server.on("error", (err) => log.error({ err }, "observe server error"));
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url }, "metrics and health endpoint listening");

  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
