// The observability endpoint: GET /metrics (Prometheus text) and GET /healthz, which tells the
// truth: 200 only when every network is logged in and every room joined, else 503 saying what is down.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { BridgeMetrics } from "./metrics.ts";
import { startListener, type Listener, type ListenerLimits } from "../http/listener.ts";

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
  deps: { metrics: BridgeMetrics; health: () => HealthReport; logger: Logger; limits?: ListenerLimits },
): Promise<ObserveServer> {
  const log = deps.logger.child({ component: "observe" });

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", false);
    }
    if (url.pathname === "/metrics") {
      return send(res, 200, deps.metrics.registry.contentType, await deps.metrics.registry.metrics(), head);
    }
    if (url.pathname === "/healthz") {
      const report = deps.health();
      const ok = report.ok && healthOk(report);
      return send(res, ok ? 200 : 503, "application/json", JSON.stringify({ ...report, ok }) + "\n", head);
    }
    send(res, 404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n", head);
  };

  let listener: Listener;
  try {
    // The shared bounded listener: connection cap, request timeout, 400 for what cannot be parsed.
    listener = await startListener({ listen, name: "metrics", log, handle, ...deps.limits });
  } catch (err) {
    const m = (err as Error).message;
    const why = /EADDRINUSE/.test(m) ? "address already in use" : /EADDRNOTAVAIL/.test(m) ? "no such local address" : m;
    throw new Error(`metrics.listen ${listen}: ${why}`, { cause: err });
  }
  log.info({ url: listener.url }, "metrics and health endpoint listening");
  return { url: listener.url, close: () => listener.close() };
}
