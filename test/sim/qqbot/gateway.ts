// The gateway WebSocket as the platform runs it (protocols.md §6.3): Hello, Identify with a token
// and intents, Dispatch with seq, heartbeats and their ACKs, Resume replaying what was missed,
// op 7 / op 9, close codes for what the real server refuses. Faults: reconnect (op 7), invalid
// session (op 9), drop (socket gone without a close frame), mute (no more ACKs or events: a dead socket).
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { INTENTS, KNOWN_INTENTS, type QqbotSimState, type SimEvent } from "./state.ts";

interface Session {
  id: string;
  intents: number;
  /** The last seq handed out on this session. */
  seq: number;
  /** Every dispatch of the session, for resume. */
  log: { s: number; payload: string }[];
  socket: Conn | null;
  detachedAt: number;
}

interface Conn {
  ws: WebSocket;
  session: Session | null;
  lastBeat: number;
  muted: boolean;
  timer: NodeJS.Timeout;
}

export interface SimGateway {
  readonly url: string;
  /** Live socket of the session, if any. */
  connected(): boolean;
  reconnect(): void;
  invalidSession(): void;
  drop(): void;
  mute(): void;
  /** The next `n` connections get no Hello (a server that accepts the socket and says nothing). */
  silence(n?: number): void;
  /** Sessions identified / resumed so far, and the seq of their last dispatch. */
  stats(): { identifies: number; resumes: number; sessions: number; lastSeq: number };
  close(): Promise<void>;
}

export async function startGateway(state: QqbotSimState): Promise<SimGateway> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/websocket/`;
  const sessions = new Map<string, Session>();
  let live: Conn | null = null;
  let silent = 0;

  const send = (c: Conn, payload: unknown): void => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(typeof payload === "string" ? payload : JSON.stringify(payload));
  };
  const dispatch = (session: Session, t: string, d: unknown, id?: string): void => {
    const s = ++session.seq;
    const payload = JSON.stringify({ op: 0, s, t, d, ...(id === undefined ? {} : { id }) });
    session.log.push({ s, payload });
    if (session.socket && !session.socket.muted) send(session.socket, payload);
  };
  const resumable = (s: Session): boolean => s.socket !== null || state.now() - s.detachedAt < state.resumeWindowMs;

  state.carriers.push((ev: SimEvent) => {
    let took = false;
    for (const s of sessions.values()) {
      if (!resumable(s) || (s.intents & ev.intent) === 0) continue;
      dispatch(s, ev.t, ev.d, ev.id);
      took = true;
    }
    return took;
  });

  const validToken = (token: unknown): boolean => {
    if (typeof token !== "string" || !token.startsWith("QQBot ")) return false;
    return state.tokenValid(token.slice("QQBot ".length));
  };

  wss.on("connection", (ws) => {
    const conn: Conn = { ws, session: null, lastBeat: state.now(), muted: false, timer: setInterval(() => check(), Math.max(20, state.heartbeatIntervalMs / 2)) };
    const check = (): void => {
      // Unsourced: the server closes a socket that sent no heartbeat for two intervals.
      if (Date.now() - conn.lastBeat > state.heartbeatIntervalMs * 2) ws.close(4009, "heartbeat timeout");
    };
    conn.lastBeat = Date.now();
    if (silent > 0) {
      silent--;
      conn.muted = true;
      clearInterval(conn.timer);
      state.emit("silenced");
      return;
    }
    send(conn, { op: 10, d: { heartbeat_interval: state.heartbeatIntervalMs } });
    ws.on("close", () => {
      clearInterval(conn.timer);
      if (conn.session?.socket === conn) {
        conn.session.socket = null;
        conn.session.detachedAt = state.now();
      }
      if (live === conn) live = null;
      state.emit("gateway-closed");
    });
    ws.on("message", (raw, isBinary) => {
      let p: { op?: unknown; d?: unknown };
      try {
        if (isBinary) throw new Error("binary");
        p = JSON.parse(raw.toString()) as typeof p;
      } catch {
        state.violation("gateway: a frame that is not a JSON payload");
        return ws.close(4002, "invalid payload");
      }
      switch (p.op) {
        case 1: {
          state.counters.heartbeats++;
          conn.lastBeat = Date.now();
          const last = conn.session?.seq ?? 0;
          if (p.d !== null && (typeof p.d !== "number" || p.d > last)) state.violation(`gateway: heartbeat d ${JSON.stringify(p.d)} is not a seq we sent (last ${last})`);
          if (!conn.muted) send(conn, { op: 11 });
          state.emit("heartbeat", p.d);
          return;
        }
        case 2:
          return identify(conn, p.d as Record<string, unknown> | undefined);
        case 6:
          return resume(conn, p.d as Record<string, unknown> | undefined);
        default:
          state.violation(`gateway: op ${JSON.stringify(p.op)} is not one a client sends`);
          return ws.close(4001, "invalid opcode");
      }
    });
  });

  function attach(conn: Conn, session: Session): void {
    if (live && live !== conn && live.ws.readyState === live.ws.OPEN) {
      state.violation("gateway: a second live socket for the bot (the old one was not closed)");
      live.ws.close(4009, "superseded");
    }
    live = conn;
    conn.session = session;
    session.socket = conn;
  }

  function identify(conn: Conn, d: Record<string, unknown> | undefined): void {
    if (conn.session) {
      state.violation("gateway: Identify on a socket that already has a session");
      return conn.ws.close(4005, "already authenticated");
    }
    if (!validToken(d?.token)) return conn.ws.close(4004, "authentication failed");
    const intents = d?.intents;
    if (typeof intents !== "number" || !Number.isInteger(intents) || intents <= 0 || (intents & ~KNOWN_INTENTS) !== 0) return conn.ws.close(4013, "invalid intent");
    if ((intents & INTENTS.GUILD_MESSAGES) !== 0 && !state.privateBot) return conn.ws.close(4014, "intent not permitted");
    const shard = d?.shard;
    if (!Array.isArray(shard) || shard[0] !== 0 || shard[1] !== 1) return conn.ws.close(4010, "invalid shard");
    state.counters.identifies++;
    state.identifiedIntents.push(intents);
    const session: Session = { id: randomUUID(), intents, seq: 0, log: [], socket: null, detachedAt: 0 };
    // A fresh Identify ends every older session: what they held is not replayed.
    sessions.clear();
    sessions.set(session.id, session);
    attach(conn, session);
    dispatch(session, "READY", { version: 1, session_id: session.id, user: { id: state.bot.id, username: state.bot.username, bot: true }, shard: [0, 0] });
    state.emit("identified", session.id);
  }

  function resume(conn: Conn, d: Record<string, unknown> | undefined): void {
    if (conn.session) {
      state.violation("gateway: Resume on a socket that already has a session");
      return conn.ws.close(4005, "already authenticated");
    }
    if (!validToken(d?.token)) return conn.ws.close(4004, "authentication failed");
    const session = sessions.get(String(d?.session_id));
    const seq = d?.seq;
    if (!session || !resumable(session)) {
      send(conn, { op: 9, d: false });
      return;
    }
    if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 0 || seq > session.seq) {
      state.violation(`gateway: Resume with seq ${JSON.stringify(seq)} (the session is at ${session.seq})`);
      return conn.ws.close(4007, "invalid seq");
    }
    if (session.socket && session.socket !== conn) {
      state.violation("gateway: Resume while the session's old socket is still open");
      session.socket.ws.close(4009, "superseded");
    }
    state.counters.resumes++;
    attach(conn, session);
    for (const e of session.log) if (e.s > seq) send(conn, e.payload);
    dispatch(session, "RESUMED", "");
    state.emit("resumed", seq);
  }

  return {
    url,
    connected: () => live !== null && live.ws.readyState === live.ws.OPEN && !live.muted,
    reconnect: () => {
      if (!live) return;
      const c = live;
      send(c, { op: 7 });
      setTimeout(() => c.ws.close(4009, "reconnect"), 50);
    },
    invalidSession: () => {
      if (!live) return;
      const c = live;
      sessions.clear();
      c.session = null;
      send(c, { op: 9, d: false });
      setTimeout(() => c.ws.close(4006, "invalid session"), 200);
    },
    drop: () => live?.ws.terminate(),
    mute: () => {
      if (live) live.muted = true;
    },
    silence: (n = 1) => {
      silent += n;
    },
    stats: () => ({ identifies: state.counters.identifies, resumes: state.counters.resumes, sessions: sessions.size, lastSeq: [...sessions.values()][0]?.seq ?? 0 }),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
