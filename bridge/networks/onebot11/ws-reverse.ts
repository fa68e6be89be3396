// `events: ws-reverse`: the implementation connects to us (protocols.md §2.7.1, §2.7.2) as a
// Universal client, or as an API and an Event client on two connections. The token is checked at
// the upgrade, from `Authorization: Bearer`, `Authorization: Token` (go-cqhttp) or
// `?access_token=`: missing → 401, wrong → 403. The `ws` package does the WebSocket itself.
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import { parseListen } from "../../config/listen.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import { SocketLink } from "./ws-link.ts";

export type Role = "universal" | "api" | "event";

export interface ReverseOptions {
  listen: string;
  /** Only this path is accepted (default: any). */
  path?: string;
  token?: string;
  log: Logger;
  warn: RepeatedWarning;
  silenceMs?: number;
  /** Largest frame accepted (an event is a few kilobytes; a history answer more). */
  maxPayload?: number;
  onEvent(event: Record<string, unknown>): void;
  /** A connection of `role` opened (link) or was lost (null). */
  onLink(role: Role, link: SocketLink | null, why?: string): void;
}

export interface ReverseServer {
  /** ws://host:port (the real port when listen asked for port 0). */
  readonly url: string;
  close(): Promise<void>;
}

/** Most connections at once: a Universal one, or an API and an Event one, plus reconnects overlapping. */
const MAX_CONNECTIONS = 8;

/** The token the request carries, from any of the forms implementations use; undefined when none. */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === "string" && header.trim() !== "") {
    const m = /^(?:Bearer|Token)\s+(.*)$/i.exec(header.trim());
    return m ? m[1]!.trim() : header.trim();
  }
  return url.searchParams.get("access_token") ?? undefined;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function roleOf(header: string | string[] | undefined): Role | undefined {
  const v = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  if (v === undefined || v === "" || v === "universal") return "universal";
  if (v === "api") return "api";
  if (v === "event") return "event";
  return undefined;
}

function refuse(socket: Socket, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

export async function startReverse(o: ReverseOptions): Promise<ReverseServer> {
  const { host, port } = parseListen(o.listen);
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxPayload ?? 16 << 20 });
  const current = new Map<Role, { ws: WebSocket; link: SocketLink }>();
  const server: Server = createServer({ headersTimeout: 10_000, requestTimeout: 10_000, maxHeaderSize: 8192 }, (_req, res) => {
    res.writeHead(426, { "content-type": "text/plain", connection: "close" }).end("a WebSocket endpoint\n");
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on("clientError", (_err, socket: Socket) => {
    if (socket.writable) refuse(socket, "400 Bad Request");
    else socket.destroy();
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://listener.invalid");
    } catch {
      return refuse(socket, "400 Bad Request");
    }
    if (o.path !== undefined && url.pathname.replace(/\/+$/, "") !== o.path.replace(/\/+$/, "")) {
      o.warn.warn("reverse-path", { path: url.pathname }, "onebot11: reverse connection to a path not configured; refused (404)");
      return refuse(socket, "404 Not Found");
    }
    if (o.token) {
      const given = presentedToken(req, url);
      if (given === undefined) {
        o.warn.warn("reverse-401", {}, "onebot11: reverse connection without a token refused (401): set the implementation's access token to access_token");
        return refuse(socket, "401 Unauthorized");
      }
      if (!sameToken(given, o.token)) {
        o.warn.warn("reverse-403", {}, "onebot11: reverse connection with a wrong token refused (403): the implementation's token is not access_token");
        return refuse(socket, "403 Forbidden");
      }
    }
    const role = roleOf(req.headers["x-client-role"]);
    if (role === undefined) return refuse(socket, "400 Bad Request");
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, role, req));
  });

  function accept(ws: WebSocket, role: Role, req: IncomingMessage): void {
    const selfId = req.headers["x-self-id"];
    const previous = current.get(role);
    if (previous) {
      // The implementation reconnected (it found the old socket dead first): the new one wins.
      previous.link.gone("replaced by a new connection");
      previous.ws.terminate();
    }
    const link: SocketLink = new SocketLink({
      peer: { send: (t) => ws.send(t), close: (c, r) => ws.close(c, r), terminate: () => ws.terminate() },
      events: role !== "api",
      api: role !== "event",
      log: o.log,
      warn: o.warn,
      silenceMs: o.silenceMs,
      onEvent: o.onEvent,
      onDown: (why) => {
        if (current.get(role)?.link === link) current.delete(role);
        o.onLink(role, null, why);
      },
    });
    current.set(role, { ws, link });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) link.receive(data.toString());
    });
    ws.on("close", (code) => link.gone(`closed (${code})`));
    ws.on("error", (err) => o.log.debug({ err: err.message }, "onebot11: reverse socket error"));
    o.log.info({ role, selfId: typeof selfId === "string" ? selfId : undefined }, "onebot11: the implementation connected");
    o.onLink(role, link);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`onebot11 ws_reverse: cannot listen on ${o.listen}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `ws://${shown}:${addr.port}${o.path ?? ""}`;
  o.log.info({ url }, "onebot11: waiting for the implementation's reverse WebSocket");
  return {
    url,
    close: async () => {
      for (const { ws, link } of current.values()) {
        link.gone("stopping");
        ws.terminate();
      }
      current.clear();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
