// The OneBot 11 HTTP API as the implementations answer it (protocols.md §2.1, §2.5): auth per
// flavor, actions, go-cqhttp's get_updates long poll, NapCat's SSE /_events, and faults.
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { toSegments, type Segment } from "../../../bridge/networks/onebot11/message.ts";
import { SIM_MAX_TEXT, type Fault, type SimState } from "./state.ts";
import { readBody, stall } from "../shared/http.ts";
import { checkSegments, richAction } from "./rich.ts";

export interface RouteContext {
  state: SimState;
  /** The access token; undefined: no auth. */
  token: () => string | undefined;
  longPoll: boolean;
  sse: boolean;
  /** Every API call waits this long first (go-cqhttp's rate limiter queues, never refuses). */
  rateLimitMs: number;
  /** Open responses (parked polls, SSE streams) to end on close. */
  open: Set<ServerResponse>;
  sseStreams: Set<ServerResponse>;
  /** get_updates requests parked right now. */
  parked: number;
  /** The /_sim/ control API. */
  control?: (url: URL, req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function ok(res: ServerResponse, data: unknown): void {
  json(res, 200, { status: "ok", retcode: 0, data, message: "", wording: "" });
}

function failed(res: ServerResponse, retcode: number, msg: string, wording = msg): void {
  json(res, 200, { status: "failed", retcode, data: null, msg, wording, message: wording });
}

/** Answers as the flavor does for a missing or wrong token; true when the request may go on. */
function checkAuth(req: IncomingMessage, url: URL, res: ServerResponse, ctx: RouteContext): boolean {
  const token = ctx.token();
  if (token === undefined) return true;
  const header = req.headers.authorization;
  let given: string | undefined;
  if (typeof header === "string") given = header.replace(/^(Bearer|Token)\s+/i, "");
  else if (ctx.state.flavor !== "lagrange") given = url.searchParams.get("access_token") ?? undefined;
  if (given === token) return true;
  ctx.state.counters.authFailures++;
  ctx.state.emit("auth-failure");
  if (ctx.state.flavor === "napcat") json(res, 403, { message: "token verify failed!" });
  else if (given === undefined) json(res, 401, { message: "missing token" });
  else json(res, 403, { message: "wrong token" });
  return false;
}

/** Applies a fault before the call runs; true when the fault answered (or dropped) the request. */
async function faultBefore(fault: Fault | undefined, res: ServerResponse, ctx: RouteContext, action: string): Promise<boolean> {
  if (fault === undefined || fault === "reset-after" || fault === "stall-after" || fault === "500-after") return false;
  // A send is done first and its answer spoilt; any other call's broken answer (a proxy's) took nothing.
  if (fault === "malformed" && action.startsWith("send_")) return false;
  if (fault === "malformed") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok","retcode":0,"data":[{"post_');
    return true;
  }
  if (typeof fault === "object" && "slow" in fault) {
    await sleep(fault.slow);
    return false;
  }
  if (typeof fault === "object") failed(res, fault.retcode, fault.msg ?? "API_ERROR");
  else if (fault === "500" || fault === "503") json(res, Number(fault), { message: "server error" });
  else if (fault === "429") json(res, 429, { message: "too many requests" }, { "retry-after": "1" });
  else if (fault === "reset") res.destroy();
  else if (fault === "stall") stall(res, ctx.open);
  else if (fault === "html") {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<html><body>502 Bad Gateway</body></html>");
  } else if (fault === "auth") json(res, 403, { message: "token verify failed!" });
  else return false;
  return true;
}

/** The call ran; a fault may still spoil its answer. */
function answer(fault: Fault | undefined, res: ServerResponse, data: unknown, open?: Set<ServerResponse>): void {
  if (fault === "reset-after") res.destroy();
  else if (fault === "500-after") json(res, 500, { message: "server error" });
  else if (fault === "stall-after") stall(res, open ?? new Set());
  else if (fault === "malformed") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok","retcode":0,"data":{"mess');
  } else ok(res, data);
}

function params(url: URL, body: string, req: IncomingMessage, ctx: RouteContext, res: ServerResponse): Record<string, unknown> | null {
  const out: Record<string, unknown> = Object.fromEntries(url.searchParams);
  delete out.access_token;
  if (req.method !== "POST" || body === "") return out;
  const type = req.headers["content-type"] ?? "";
  // Lagrange accepts exactly these two Content-Types (406 otherwise); the others take any JSON.
  if (ctx.state.flavor === "lagrange" && type !== "application/json" && type !== "application/x-www-form-urlencoded") {
    ctx.state.violation(`Content-Type ${type} refused (406)`);
    json(res, 406, { message: "unsupported content type" });
    return null;
  }
  try {
    if (type.startsWith("application/x-www-form-urlencoded")) return { ...out, ...Object.fromEntries(new URLSearchParams(body)) };
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
    return { ...out, ...(parsed as Record<string, unknown>) };
  } catch {
    ctx.state.violation(`unreadable body: ${body.slice(0, 60)}`);
    json(res, 400, { message: "bad body" });
    return null;
  }
}

/** Parameters are coerced from strings as the spec says; anything else is the client's mistake. */
function intParam(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

export async function route(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, base: string): Promise<void> {
  const url = new URL(req.url ?? "/", base);
  if (url.pathname.startsWith("/_sim/") && ctx.control) return ctx.control(url, req, res);
  const body = await readBody(req);
  if (!checkAuth(req, url, res, ctx)) return;
  const action = url.pathname.replace(/^\/+|\/+$/g, "");
  const st = ctx.state;
  st.counters.calls++;
  if (action === "_events" && ctx.sse) return events(req, res, ctx);
  const p = params(url, body, req, ctx, res);
  if (p === null) return;
  if (ctx.rateLimitMs > 0) await sleep(ctx.rateLimitMs);
  const fault = st.takeFault(action);
  if (await faultBefore(fault, res, ctx, action)) return;
  switch (action) {
    case "get_login_info":
      return answer(fault, res, { user_id: st.selfId, nickname: st.nickname });
    case "get_version_info":
      return answer(fault, res, st.versionInfo());
    case "get_group_msg_history": {
      if (!st.historyEnabled) break;
      const h = st.history(p);
      if ("retcode" in h) return failed(res, h.retcode, h.msg);
      return answer(fault, res, h);
    }
    case "get_group_list":
      return answer(fault, res, [...st.groups.keys()].map((id) => ({ group_id: id, group_name: `group ${id}`, member_count: st.groups.get(id)!.length })));
    case "get_group_member_info": {
      const m = st.member(intParam(p.group_id) ?? NaN, intParam(p.user_id) ?? NaN);
      if (!m) return failed(res, 100, "MEMBER_NOT_FOUND", "群员不存在");
      return answer(fault, res, { group_id: intParam(p.group_id), user_id: m.userId, nickname: m.nickname, card: m.card ?? "", role: "member" });
    }
    case "send_group_msg":
    case "send_msg":
      return sendGroupMsg(p, res, ctx, fault);
    case "get_updates":
      if (ctx.longPoll) return getUpdates(p, req, res, ctx, fault);
      break;
  }
  const rich = richAction(st, action, p);
  if (rich !== undefined) return "retcode" in rich ? failed(res, rich.retcode, rich.msg) : answer(fault, res, rich.data, ctx.open);
  if (!(action === "get_group_msg_history" && !st.historyEnabled)) st.violation(`unknown action ${action}`);
  if (st.flavor === "go-cqhttp") return failed(res, 404, "API_NOT_FOUND", "API不存在");
  if (st.flavor === "napcat" || st.flavor === "llbot") return failed(res, 200, `不支持的Api ${action}`);
  json(res, 404, { message: "not found" });
}

async function sendGroupMsg(p: Record<string, unknown>, res: ServerResponse, ctx: RouteContext, fault: Fault | undefined): Promise<void> {
  const st = ctx.state;
  const group = intParam(p.group_id);
  if (group === undefined) {
    st.violation(`send_group_msg without a usable group_id: ${JSON.stringify(p.group_id)}`);
    return failed(res, 100, "PARAM_ERROR", "group_id 缺失");
  }
  let segs: Segment[];
  try {
    segs = toSegments(p.message);
  } catch (err) {
    st.violation(`send_group_msg with a bad message: ${(err as Error).message}`);
    return failed(res, 100, "PARAM_ERROR", "消息格式错误");
  }
  if (segs.length === 0 || segs.every((s) => s.type === "text" && String(s.data.text) === "")) {
    st.violation("send_group_msg with an empty message");
    return failed(res, 100, "EMPTY_MSG_ERROR", "消息为空");
  }
  if (!st.groups.has(group)) return failed(res, 100, "GROUP_NOT_FOUND", "群聊不存在");
  const len = segs.reduce((n, s) => n + (s.type === "text" ? [...String(s.data.text)].length : 1), 0);
  if (len > SIM_MAX_TEXT) {
    st.violation(`send_group_msg longer than ${SIM_MAX_TEXT} characters (${len})`);
    return failed(res, 100, "SEND_MSG_API_ERROR", "消息过长");
  }
  const checked = await checkSegments(st, group, segs);
  if (!Array.isArray(checked)) return failed(res, checked.retcode, checked.msg);
  const sent = st.recordSent(group, checked);
  answer(fault, res, { message_id: sent.messageId }, ctx.open);
}

async function getUpdates(p: Record<string, unknown>, req: IncomingMessage, res: ServerResponse, ctx: RouteContext, fault: Fault | undefined): Promise<void> {
  const st = ctx.state;
  st.counters.polls++;
  st.emit("poll");
  const timeout = intParam(p.timeout);
  const limit = intParam(p.limit) ?? 0;
  if (timeout === undefined || timeout <= 0) {
    // The real server blocks until an event arrives, for ever if none does: refused here, loudly.
    st.violation(`get_updates without a positive timeout (${JSON.stringify(p.timeout)}): it blocks until an event arrives`);
    return failed(res, 100, "TIMEOUT_REQUIRED");
  }
  if (ctx.parked > 0) st.violation("two get_updates parked at once: one global FIFO, the events would be split between them");
  ctx.parked++;
  ctx.open.add(res);
  const gone = new AbortController();
  res.on("close", () => gone.abort());
  const deadline = AbortSignal.any([gone.signal, AbortSignal.timeout(timeout * 1000)]);
  try {
    await st.waitFor(() => (st.queue.length > 0 ? true : undefined), ["event"], deadline).catch(() => undefined);
  } finally {
    ctx.parked--;
    ctx.open.delete(res);
  }
  if (gone.signal.aborted) return; // the client left: nothing taken, nothing lost
  const events = st.take(limit);
  if (fault === "reset-after") {
    res.destroy(); // taken and lost, as on the real server when the answer never arrives
    return;
  }
  answer(fault, res, events);
}

function events(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): void {
  const st = ctx.state;
  st.counters.sseConnections++;
  const fault = st.takeFault("_events");
  if (fault === "end" || fault === "reset") {
    if (fault === "reset") res.destroy();
    else {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end();
    }
    return;
  }
  if (fault === "auth") return json(res, 403, { message: "token verify failed!" });
  if (fault === "500" || fault === "503") return json(res, Number(fault), { message: "server error" });
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.flushHeaders();
  if (fault === "malformed") res.write("data: {\"post_type\":\"mess\n\n");
  ctx.sseStreams.add(res);
  ctx.open.add(res);
  res.on("close", () => {
    ctx.sseStreams.delete(res);
    ctx.open.delete(res);
  });
  st.emit("sse-open");
}

/** NapCat pushes every event to the streams open right now: no replay for a stream opened later. */
export function pushSse(ctx: RouteContext, event: Record<string, unknown>): void {
  for (const res of ctx.sseStreams) if (!res.writableEnded) res.write(`data: ${JSON.stringify(event)}\n\n`);
}
