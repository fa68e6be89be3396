// OneBot 11 over WebSocket as the implementations speak it (protocols.md §2.7): a forward server
// (the client connects; token refused per flavor: 401/403 at the upgrade on go-cqhttp and
// Lagrange, a 1403 frame and a close on NapCat and LLBot) and a reverse client (we connect to the
// bridge with X-Self-ID, X-Client-Role and the flavor's Authorization form, reconnecting at an
// interval). Events go only to sockets open right now: nothing is queued for a client away.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { toSegments, type Segment } from "../../../bridge/networks/onebot11/message.ts";
import { SIM_MAX_TEXT, type Fault, type SimState } from "./state.ts";
import { checkSegments, richAction } from "./rich.ts";

export interface WsSimOptions {
  /** Heartbeat meta events every this many ms on each event socket (0: none). */
  heartbeatMs?: number;
}

interface Conn {
  ws: WebSocket;
  events: boolean;
  api: boolean;
  heartbeat?: NodeJS.Timeout;
}

/** What the simulator does on its sockets; shared by the forward server and the reverse client. */
export class WsSide {
  readonly state: SimState;
  readonly token: () => string | undefined;
  readonly conns = new Set<Conn>();
  readonly heartbeatMs: number;
  /** While true nothing is sent on any socket (no events, heartbeats or answers): a hung peer. */
  silent = false;

  constructor(state: SimState, token: () => string | undefined, o: WsSimOptions) {
    this.state = state;
    this.token = token;
    this.heartbeatMs = o.heartbeatMs ?? 0;
    state.on("event", (event: Record<string, unknown>) => {
      for (const c of this.conns) if (c.events) this.write(c, event);
    });
  }

  private write(c: Conn, frame: unknown): void {
    if (this.silent || c.ws.readyState !== WebSocket.OPEN) return;
    c.ws.send(JSON.stringify(frame));
  }

  /** A socket is up: lifecycle connect, heartbeats, actions. */
  attach(ws: WebSocket, events: boolean, api: boolean): void {
    const c: Conn = { ws, events, api };
    this.conns.add(c);
    this.state.counters.wsConnections++;
    if (events) {
      this.write(c, { time: Math.floor(Date.now() / 1000), self_id: this.state.selfId, post_type: "meta_event", meta_event_type: "lifecycle", sub_type: "connect" });
      if (this.heartbeatMs > 0) {
        c.heartbeat = setInterval(() => {
          if (this.silent) return;
          this.write(c, { time: Math.floor(Date.now() / 1000), self_id: this.state.selfId, post_type: "meta_event", meta_event_type: "heartbeat", interval: this.heartbeatMs, status: { online: true, good: true } });
          this.state.emit("ws-heartbeat");
        }, this.heartbeatMs);
      }
    }
    ws.on("message", (data) => void this.action(c, data.toString()));
    ws.on("close", () => {
      clearInterval(c.heartbeat);
      this.conns.delete(c);
      this.state.emit("ws-close");
    });
    ws.on("error", () => undefined);
    this.state.emit("ws-open");
  }

  /** Every socket dropped at once, without a close frame (a crash, a cable pulled). */
  drop(): void {
    for (const c of this.conns) c.ws.terminate();
  }

  private failure(c: Conn, echo: unknown, retcode: number, msg: string): void {
    this.write(c, { status: "failed", retcode, data: null, message: msg, wording: msg, ...(echo === undefined ? {} : { echo }) });
  }

  private async action(c: Conn, text: string): Promise<void> {
    const st = this.state;
    let frame: { action?: unknown; params?: unknown; echo?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      st.violation(`unreadable frame: ${text.slice(0, 60)}`);
      return this.failure(c, undefined, 1400, "bad JSON");
    }
    if (!c.api) {
      st.violation(`action on an event-only socket: ${String(frame.action)}`);
      return;
    }
    const action = typeof frame.action === "string" ? frame.action : "";
    const echo = frame.echo;
    if (echo === undefined) st.violation(`action ${action} without an echo: its answer cannot be matched`);
    const p = (typeof frame.params === "object" && frame.params !== null ? frame.params : {}) as Record<string, unknown>;
    st.counters.calls++;
    st.counters.wsCalls++;
    const fault = st.takeFault(action);
    // Faults before the action ran: nothing done.
    if (fault === "reset") return void c.ws.terminate();
    if (fault === "stall") return;
    if (fault === "500" || fault === "503") return this.failure(c, echo, st.handlerError().retcode, "handler error");
    if (typeof fault === "object" && "retcode" in fault) return this.failure(c, echo, fault.retcode, fault.msg ?? "API_ERROR");
    if (typeof fault === "object" && "slow" in fault) await new Promise((r) => setTimeout(r, fault.slow));
    const result = await this.run(action, p);
    // Faults after it ran: done, the answer lost or spoilt.
    if (fault === "reset-after") return void c.ws.terminate();
    if (fault === "stall-after") return;
    if (fault === "500-after") return this.failure(c, echo, st.handlerError().retcode, "handler error");
    if ("retcode" in result) return this.failure(c, echo, result.retcode, result.msg);
    this.write(c, { status: "ok", retcode: 0, data: result.data, message: "", wording: "", echo });
  }

  private async run(action: string, p: Record<string, unknown>): Promise<{ data: unknown } | { retcode: number; msg: string }> {
    const st = this.state;
    const int = (v: unknown): number | undefined => (typeof v === "number" && Number.isSafeInteger(v) ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : undefined);
    switch (action) {
      case "get_login_info":
        return { data: { user_id: st.selfId, nickname: st.nickname } };
      case "get_version_info":
        return { data: st.versionInfo() };
      case "get_group_list":
        return { data: [...st.groups.keys()].map((id) => ({ group_id: id, group_name: `group ${id}` })) };
      case "get_group_member_info": {
        const m = st.member(int(p.group_id) ?? NaN, int(p.user_id) ?? NaN);
        return m ? { data: { group_id: int(p.group_id), user_id: m.userId, nickname: m.nickname, card: m.card ?? "" } } : { retcode: st.handlerError().retcode, msg: "群员不存在" };
      }
      case "get_group_msg_history":
        if (!st.historyEnabled) break;
        {
          const h = st.history(p);
          return "retcode" in h ? h : { data: h };
        }
      case "send_group_msg":
      case "send_msg": {
        const group = int(p.group_id);
        let segs: Segment[];
        try {
          segs = toSegments(p.message);
        } catch (err) {
          st.violation(`send_group_msg with a bad message: ${(err as Error).message}`);
          return { retcode: 1400, msg: "消息格式错误" };
        }
        if (group === undefined || !st.groups.has(group)) return { retcode: st.flavor === "go-cqhttp" ? 100 : 1400, msg: "GROUP_NOT_FOUND 群聊不存在" };
        const len = segs.reduce((n, s) => n + (s.type === "text" ? [...String(s.data.text)].length : 1), 0);
        if (len === 0 || len > SIM_MAX_TEXT) {
          st.violation(`send_group_msg with ${len} characters`);
          return { retcode: 1400, msg: "PARAM_ERROR" };
        }
        const checked = await checkSegments(st, group, segs);
        if (!Array.isArray(checked)) return checked;
        return { data: { message_id: st.recordSent(group, checked).messageId } };
      }
    }
    const rich = richAction(st, action, p);
    if (rich !== undefined) return rich;
    if (!(action === "get_group_msg_history" && !st.historyEnabled)) st.violation(`unknown action ${action}`);
    return { retcode: st.flavor === "go-cqhttp" || st.flavor === "lagrange" ? 404 : 1404, msg: "API_NOT_FOUND" };
  }

  close(): void {
    for (const c of this.conns) {
      clearInterval(c.heartbeat);
      c.ws.terminate();
    }
    this.conns.clear();
  }
}

/** The token a forward connection presents, read as the flavor reads it (protocols.md §2.7.2). */
function forwardToken(flavor: string, req: IncomingMessage, url: URL): string | undefined {
  const header = typeof req.headers.authorization === "string" ? req.headers.authorization : undefined;
  const query = url.searchParams.get("access_token") ?? undefined;
  if (flavor === "napcat") return query ?? (header?.startsWith("Bearer ") ? header.slice(7) : undefined);
  if (flavor === "llbot") return header?.startsWith("Bearer ") ? header.slice(7) : query;
  if (flavor === "lagrange") return header !== undefined ? (header.startsWith("Bearer ") ? header.slice(7) : "") : query;
  return header !== undefined ? header.slice(header.indexOf(" ") + 1) : query; // go-cqhttp: after the first space, any scheme
}

export interface ForwardServer {
  readonly url: string;
  close(): Promise<void>;
}

/** The implementation's forward WebSocket server: `/api` actions only, `/event` events only, others Universal. */
export async function startForwardServer(side: WsSide): Promise<ForwardServer> {
  const st = side.state;
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://sim.invalid");
    const token = side.token();
    const given = forwardToken(st.flavor, req, url);
    const bad = token !== undefined && given !== token;
    const path = url.pathname.replace(/\/+$/, "");
    const events = path !== "/api";
    const api = path !== "/event";
    if (bad && (st.flavor === "go-cqhttp" || st.flavor === "lagrange")) {
      st.counters.authFailures++;
      st.emit("auth-failure");
      const status = st.flavor === "go-cqhttp" && given === undefined ? "401 Unauthorized" : "403 Forbidden";
      return void socket.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (bad) {
        // NapCat and LLBot: the upgrade is accepted, then a refusal frame and a close.
        st.counters.authFailures++;
        st.emit("auth-failure");
        ws.send(JSON.stringify({ status: "failed", retcode: 1403, data: null, message: "token验证失败", wording: "token验证失败" }));
        ws.close();
        return;
      }
      side.attach(ws, events, api);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ReverseClientOptions {
  /** The bridge's ws_reverse URL. */
  url: string;
  /** Reconnect interval (NapCat 5000, LLBot 3000; tests pass small values). */
  reconnectMs?: number;
  /** Lagrange may connect as an API and an Event client on two connections. */
  split?: boolean;
  /** Override the Authorization header (e.g. a wrong or missing token); default the flavor's form of the sim's token. */
  authorization?: string | null;
}

/** The implementation connecting to the bridge, reconnecting at its interval until stopped. */
export class ReverseClient {
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();
  private readonly side: WsSide;
  private readonly o: ReverseClientOptions;
  /** HTTP statuses of refused upgrades, in order. */
  readonly refusals: number[] = [];

  constructor(side: WsSide, o: ReverseClientOptions) {
    this.side = side;
    this.o = o;
    for (const role of o.split ? ["API", "Event"] : ["Universal"]) this.connect(role);
  }

  private connect(role: string): void {
    if (this.stopped) return;
    const st = this.side.state;
    const token = this.side.token();
    const headers: Record<string, string> = { "x-self-id": String(st.selfId), "x-client-role": role, "user-agent": st.flavor === "go-cqhttp" ? "CQHttp/4.15.0" : "OneBot/11" };
    const auth = this.o.authorization !== undefined ? this.o.authorization : token === undefined ? null : st.flavor === "go-cqhttp" ? `Token ${token}` : `Bearer ${token}`;
    if (auth !== null) headers.authorization = auth;
    const ws = new WebSocket(this.o.url, { headers });
    let opened = false;
    ws.on("open", () => {
      opened = true;
      this.side.attach(ws, role !== "API", role !== "Event");
    });
    ws.on("unexpected-response", (_req, res) => {
      this.refusals.push(res.statusCode ?? 0);
      st.emit("reverse-refused", res.statusCode);
      res.resume();
      ws.terminate();
    });
    ws.on("error", () => undefined);
    ws.on("close", () => {
      if (!opened) st.emit("reverse-failed");
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.connect(role);
      }, this.o.reconnectMs ?? 3000);
      this.timers.add(t);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

export type { Fault };
