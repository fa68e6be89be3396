// `events: ws`: the bridge connects to the implementation's WebSocket server (protocols.md §2.7)
// with `Authorization: Bearer <token>`, through undici's WebSocket client. A lost socket is
// replaced after a full-jitter backoff; a refused token (401/403 at the upgrade on go-cqhttp and
// Lagrange, a 1403 frame then a close on NapCat and LLBot) backs off hard and says so.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Socket } from "node:net";
import { Agent, buildConnector, WebSocket, type Dispatcher } from "undici";
import { redactText } from "../../../src/index.ts";
import type { Failures } from "../shared/failures.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import { SocketLink } from "./ws-link.ts";

export interface ForwardOptions {
  url: string;
  token?: string;
  log: Logger;
  warn: RepeatedWarning;
  signal: AbortSignal;
  /** The backoff of the socket (the network skeleton's: long after a refused token, short else). */
  failures: Failures;
  silenceMs?: number;
  /** Default: a dispatcher of its own per socket, so a dead socket can be dropped at once. */
  dispatcher?: Dispatcher;
  onEvent(event: Record<string, unknown>): void;
  /** A socket opened (link) or was lost (null, with why). */
  onLink(link: SocketLink | null, why?: string): void;
}

/** The URL for logs: no token in a query. */
export function shownUrl(url: string, secrets: string[]): string {
  try {
    const u = new URL(url);
    if (u.searchParams.has("access_token")) u.searchParams.set("access_token", "REDACTED");
    return redactText(u.toString(), secrets);
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * The HTTP status the server answers a WebSocket upgrade with (101 accepted, 401/403 refused), or
 * undefined when it cannot be reached. undici's client reports any failed handshake alike, so
 * after one we ask once more ourselves, to tell a refused token from an unreachable server.
 */
export function handshakeStatus(url: string, headers: Record<string, string>, timeoutMs = 5_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve(undefined);
    }
    const send = u.protocol === "wss:" ? httpsRequest : httpRequest;
    const req = send(new URL(u.toString().replace(/^ws/, "http")), {
      method: "GET",
      timeout: timeoutMs,
      headers: { ...headers, connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64") },
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/** Runs until the signal aborts: one socket at a time, replaced whenever it is lost. */
export async function runForward(o: ForwardOptions): Promise<void> {
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  const secrets = o.token ? [o.token] : [];
  const shown = shownUrl(o.url, secrets);
  while (!o.signal.aborted) {
    const outcome = await oneSocket(o, headers, shown);
    if (o.signal.aborted) return;
    if (outcome.healthy) o.failures.ok();
    const wait =
      outcome.authRefused !== undefined
        ? o.failures.authFailed(`the implementation refused the access token (${outcome.authRefused}); check access_token`)
        : o.failures.failed("reconnecting", outcome.why, `socket to ${shown}`);
    await sleep(wait, undefined, { signal: o.signal }).catch(() => undefined);
  }
}

interface Outcome {
  why: string;
  /** The socket carried frames before it went (so the failure count restarts). */
  healthy: boolean;
  authRefused?: string;
}

function oneSocket(o: ForwardOptions, headers: Record<string, string>, shown: string): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let ws: WebSocket;
    // Its own dispatcher, whose connector keeps the TCP socket: undici's WebSocket can only close
    // by the closing handshake, which a dead peer never answers; destroying the socket drops it at once.
    const sockets = new Set<Socket>();
    const connector = buildConnector({ timeout: 10_000 });
    const own = o.dispatcher
      ? null
      : new Agent({
          connect: (opts, cb) =>
            connector(opts, (...args) => {
              if (args[1]) sockets.add(args[1]);
              cb(...args);
            }),
        });
    const drop = (): void => {
      for (const s of sockets) s.destroy();
      void own?.destroy().catch(() => undefined);
    };
    try {
      ws = new WebSocket(o.url, { headers, dispatcher: o.dispatcher ?? own! });
    } catch (err) {
      drop();
      return resolve({ why: `cannot open ${shown}: ${(err as Error).message}`, healthy: false });
    }
    let link: SocketLink | null = null;
    let opened = false;
    let refused: string | undefined;
    let settled = false;
    const finish = (out: Outcome): void => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener("abort", abort);
      if (link) {
        link.gone(out.why);
        o.onLink(null, out.why);
      }
      // After a close frame went out (stop, refusal), give it a moment to leave; a dead socket goes now.
      if (out.why === "silent socket") drop();
      else setTimeout(drop, 1_000).unref();
      resolve(out);
    };
    const abort = (): void => {
      try {
        ws.close(1000, "stopping");
      } catch {
        // already closing
      }
      finish({ why: "stopping", healthy: true });
    };
    o.signal.addEventListener("abort", abort, { once: true });
    ws.addEventListener("open", () => {
      opened = true;
      link = new SocketLink({
        peer: {
          send: (text) => ws.send(text),
          close: (code, reason) => ws.close(code, reason),
          terminate: () => finish({ why: "silent socket", healthy: (link?.frames ?? 0) > 0 }),
        },
        events: true,
        api: true,
        log: o.log,
        warn: o.warn,
        silenceMs: o.silenceMs,
        onEvent: o.onEvent,
        onDown: () => undefined,
        onAuthRefused: (detail) => {
          refused = detail;
          ws.close(1000, "token refused");
          finish({ why: "token refused", healthy: false, authRefused: detail });
        },
      });
      o.log.info({ url: shown }, "onebot11: socket open");
      o.onLink(link);
    });
    ws.addEventListener("message", (ev) => {
      if (typeof ev.data === "string") link?.receive(ev.data);
      else if (ev.data instanceof ArrayBuffer) link?.receive(Buffer.from(ev.data).toString("utf8"));
    });
    ws.addEventListener("close", (ev) => {
      if (settled) return;
      if (refused !== undefined) return finish({ why: "token refused", healthy: false, authRefused: refused });
      if (opened) return finish({ why: `closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`, healthy: (link?.frames ?? 0) > 0 });
      // The handshake failed: a refused token, or a server not there.
      void handshakeStatus(o.url, headers).then((status) => {
        if (status === 401 || status === 403) finish({ why: `HTTP ${status}`, healthy: false, authRefused: `HTTP ${status} at the upgrade` });
        else finish({ why: status === undefined ? `cannot connect to ${shown}` : `upgrade refused: HTTP ${status}`, healthy: false });
      });
    });
  });
}
