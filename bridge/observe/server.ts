// The observability endpoint: GET /metrics (Prometheus text), GET /healthz, which tells the
// truth: 200 only when every network is logged in and every room joined, else 503 saying what is
// down; and the status page: GET / (HTML), /status.json, /qr/NETWORK.png (a pending WebQQ login).
//
// metrics.auth (basic) protects everything but /healthz: load balancers, systemd watchdogs and
// container probes rarely send credentials. Without credentials /healthz then answers its status
// code and {"ok": ...} only; the names of rooms and networks and their details need the login.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { BridgeMetrics } from "./metrics.ts";
import { readFile } from "node:fs/promises";
import { startListener, type Listener, type ListenerLimits } from "../http/listener.ts";
import { basicAuthChecker, CHALLENGE, type BasicAuth } from "./basic-auth.ts";
import { STATUS_PAGE } from "./page.ts";
import type { StatusReport } from "./status.ts";

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

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, head: boolean, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store", ...headers });
  res.end(head ? undefined : body);
}

/** The page's own code only: no framing by other sites, no outside resources. */
const PAGE_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

export interface StatusPageDeps {
  status: () => StatusReport;
  /** The PNG file of a network's login QR while it is pending, else undefined. */
  qrFile: (network: string) => string | undefined;
}

export async function startObserveServer(
  listen: string,
  deps: { metrics: BridgeMetrics; health: () => HealthReport; logger: Logger; limits?: ListenerLimits; auth?: BasicAuth; page?: StatusPageDeps },
): Promise<ObserveServer> {
  const log = deps.logger.child({ component: "observe" });
  const authorized = basicAuthChecker(deps.auth);

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", false);
    }
    const known = url.pathname === "/healthz" || url.pathname === "/metrics" || (deps.page && (url.pathname === "/" || url.pathname === "/status.json" || url.pathname.startsWith("/qr/")));
    if (!known) return send(res, 404, "text/plain; charset=utf-8", `not found: try ${deps.page ? "/, " : ""}/metrics or /healthz\n`, head);
    const allowed = authorized(req);
    if (url.pathname === "/healthz") {
      const report = deps.health();
      const ok = report.ok && healthOk(report);
      return send(res, ok ? 200 : 503, "application/json", JSON.stringify(allowed ? { ...report, ok } : { ok }) + "\n", head);
    }
    if (!allowed) return send(res, 401, "text/plain; charset=utf-8", "authentication required\n", head, CHALLENGE);
    if (url.pathname === "/metrics") {
      return send(res, 200, deps.metrics.registry.contentType, await deps.metrics.registry.metrics(), head);
    }
    const page = deps.page!;
    if (url.pathname === "/") return send(res, 200, "text/html; charset=utf-8", STATUS_PAGE, head, PAGE_HEADERS);
    if (url.pathname === "/status.json") return send(res, 200, "application/json", JSON.stringify(page.status()) + "\n", head);
    const m = /^\/qr\/([^/]+)\.png$/.exec(url.pathname);
    const network = m ? safeDecode(m[1]!) : undefined;
    const file = network === undefined ? undefined : page.qrFile(network);
    const png = file ? await readFile(file).catch(() => undefined) : undefined;
    if (!png) return send(res, 404, "text/plain; charset=utf-8", "no login QR is pending for this network\n", head);
    send(res, 200, "image/png", png, head, { "x-content-type-options": "nosniff" });
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
