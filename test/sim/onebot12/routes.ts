// The OneBot 12 HTTP wire as the spec has it (protocols.md §3; connect/communication/http.md),
// strict about what a real implementation refuses: POST to / only (405/404), Content-Type
// application/json (415), the token (401), a JSON request object (10001), known actions (10002),
// well-typed params with string ids (10003), known segments (10005/10006), `self` when several
// bots share the connection (10101) and only a known one (10102).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PollFault, SendFault, SimBot, SimSegment, SimState } from "./state.ts";
import { readBody, stall } from "../shared/http.ts";
import { checkSegments, richAction } from "./rich.ts";

export interface RouteContext {
  state: SimState;
  baseUrl: () => string;
  /** Requests parked by a stall or a hold; ended on close. */
  parked: Set<ServerResponse>;
}

const META_ACTIONS = new Set(["get_latest_events", "get_supported_actions", "get_status", "get_version"]);
const ACTIONS = [
  "get_latest_events", "get_supported_actions", "get_status", "get_version",
  "get_self_info", "send_message", "get_group_info", "get_group_list", "get_group_member_info", "get_file",
  "get_group_member_list", "upload_file", "delete_message",
];
const SEGMENT_TYPES = new Set(["text", "mention", "mention_all", "image", "voice", "audio", "video", "file", "location", "reply"]);
/** Retcodes this implementation chose for lookups that find nothing (35xxx: logic errors). */
export const GROUP_NOT_FOUND = 35001;
export const MEMBER_NOT_FOUND = 35002;

class Refusal extends Error {
  readonly status: number;
  readonly retcode: number | undefined;
  constructor(reason: string, status: number, retcode?: number) {
    super(reason);
    this.status = status;
    this.retcode = retcode;
  }
}

/** A protocol violation: recorded, then answered the way the real server refuses it. */
function refuse(reason: string, retcode: number): never {
  throw new Refusal(reason, 200, retcode);
}

function refuseHttp(reason: string, status: number): never {
  throw new Refusal(reason, status);
}

function sendJson(res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, text: string, status: number, type = "text/plain", headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function ok(res: ServerResponse, data: unknown, echo: unknown): void {
  sendJson(res, { status: "ok", retcode: 0, data, message: "", ...(echo === undefined || echo === "" ? {} : { echo }) });
}

function failed(res: ServerResponse, retcode: number, message: string, echo?: unknown): void {
  sendJson(res, { status: "failed", retcode, data: null, message, ...(echo === undefined || echo === "" ? {} : { echo }) });
}

function requireToken(req: IncomingMessage, url: URL, state: SimState): void {
  if (state.tokens.length === 0) return;
  const header = req.headers.authorization;
  // The header wins; the access_token query parameter only counts without it.
  const given = header !== undefined ? (/^Bearer (.+)$/.exec(header)?.[1] ?? "") : url.searchParams.get("access_token");
  if (given === null || !state.tokens.includes(given)) {
    state.counters.authFailures++;
    state.authFailuresAt.push(state.now());
    state.emit("answered");
    refuseHttp(given === null ? "no access token (Authorization: Bearer or access_token)" : "wrong access token", 401);
  }
}

function requireString(params: Record<string, unknown>, name: string, action: string): string {
  const v = params[name];
  if (typeof v !== "string" || v === "") refuse(`${action}: params.${name} must be a non-empty string (ids are strings in v12), got ${JSON.stringify(v)}`, 10003);
  return v;
}

function optionalInt(params: Record<string, unknown>, name: string, action: string): number {
  const v = params[name];
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) refuse(`${action}: params.${name} must be an int64 ≥ 0, got ${JSON.stringify(v)}`, 10003);
  return v;
}

/** A send's message: a segment array, one segment, or a plain string (one text segment). */
function readMessage(v: unknown): SimSegment[] {
  const list = typeof v === "string" ? [{ type: "text", data: { text: v } }] : Array.isArray(v) ? v : [v];
  if (list.length === 0) refuse("send_message: empty message", 10003);
  for (const s of list as { type?: unknown; data?: unknown }[]) {
    if (typeof s !== "object" || s === null || typeof s.type !== "string" || typeof s.data !== "object" || s.data === null) {
      refuse(`send_message: not a segment: ${JSON.stringify(s)}`, 10006);
    }
    if (!SEGMENT_TYPES.has(s.type)) refuse(`send_message: unsupported segment ${s.type}`, 10005);
    if (s.type === "text" && typeof (s.data as { text?: unknown }).text !== "string") refuse("send_message: text segment without a string text", 10006);
  }
  return list as SimSegment[];
}

export async function route(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const url = new URL(req.url ?? "/", ctx.baseUrl());
  let echo: unknown;
  try {
    if (req.method !== "POST") refuseHttp(`${req.method} ${url.pathname}: only POST is served`, 405);
    if (url.pathname !== "/") refuseHttp(`POST ${url.pathname}: the only endpoint is /`, 404);
    requireToken(req, url, ctx.state);
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") refuseHttp(`Content-Type "${req.headers["content-type"] ?? ""}" is not application/json`, 415);
    const text = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      refuse("the body is not JSON", 10001);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) refuse("the body is not an action request object", 10001);
    const { action, params, self } = body as { action?: unknown; params?: unknown; self?: unknown };
    echo = (body as { echo?: unknown }).echo;
    if (typeof action !== "string") refuse("action is not a string", 10001);
    if (typeof params !== "object" || params === null || Array.isArray(params)) refuse(`${action}: params is not an object`, 10001);
    ctx.state.logRequest(action, params as Record<string, unknown>);
    if (!ACTIONS.includes(action)) refuse(`unsupported action ${action}`, 10002);
    if (action === "get_latest_events" && !ctx.state.eventsEnabled) return failed(res, 10002, "get_latest_events is disabled (event_enabled: false)", echo);
    let bot: SimBot | undefined;
    if (!META_ACTIONS.has(action)) {
      if (self !== undefined) {
        bot = ctx.state.botOf(self);
        if (!bot) refuse(`${action}: unknown self ${JSON.stringify(self)}`, 10102);
      } else if (ctx.state.bots.length > 1) refuse(`${action}: several bots share this connection and no self was given`, 10101);
      else bot = ctx.state.bots[0]!;
    }
    await dispatch(action, params as Record<string, unknown>, bot, echo, req, res, ctx);
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    ctx.state.violation(err.message);
    if (err.retcode === undefined) sendText(res, err.message, err.status);
    else failed(res, err.retcode, err.message, echo);
  } finally {
    ctx.state.emit("answered");
  }
}

async function dispatch(action: string, params: Record<string, unknown>, bot: SimBot | undefined, echo: unknown, req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  switch (action) {
    case "get_status":
      if (state.statusWithoutBots) return ok(res, { good: true }, echo);
      return ok(res, { good: true, bots: state.bots.map((b) => ({ self: { platform: b.platform, user_id: b.user_id }, online: b.online !== false })) }, echo);
    case "get_version":
      return ok(res, { impl: "pollbridge-sim", version: "0.1.0", onebot_version: "12" }, echo);
    case "get_supported_actions":
      return ok(res, ACTIONS, echo);
    case "get_self_info":
      return ok(res, { user_id: bot!.user_id, user_name: `bot${bot!.user_id}`, user_displayname: "" }, echo);
    case "get_group_list":
      return ok(res, [...state.groups.values()].map((g) => ({ group_id: g.group_id, group_name: g.group_name ?? "" })), echo);
    case "get_group_info": {
      const g = state.groups.get(requireString(params, "group_id", action));
      if (!g) return failed(res, GROUP_NOT_FOUND, "group not found", echo);
      return ok(res, { group_id: g.group_id, group_name: g.group_name ?? "" }, echo);
    }
    case "get_group_member_info": {
      const groupId = requireString(params, "group_id", action);
      const userId = requireString(params, "user_id", action);
      state.counters.memberInfo++;
      const m = state.member(groupId, userId);
      if (!m) return failed(res, MEMBER_NOT_FOUND, "member not found", echo);
      return ok(res, { user_id: m.user_id, user_name: m.user_name, user_displayname: m.user_displayname ?? "" }, echo);
    }
    case "get_file": {
      const fileId = requireString(params, "file_id", action);
      const type = params.type;
      if (type !== "url" && type !== "path" && type !== "data") refuse(`get_file: type must be url, path or data, got ${JSON.stringify(type)}`, 10003);
      if (type !== "url") return failed(res, 10004, "only type url is offered", echo);
      return ok(res, { name: state.files.get(fileId)?.name ?? `${fileId}.png`, url: `${ctx.baseUrl()}/_sim/file/${encodeURIComponent(fileId)}` }, echo);
    }
    case "send_message":
      return await sendMessage(params, bot!, echo, res, ctx);
    case "get_latest_events":
      return latestEvents(params, echo, req, res, ctx);
  }
  const rich = await richAction(state, action, params, bot!);
  if (rich === undefined) return;
  if ("refuse" in rich) refuse(rich.reason, rich.refuse);
  if ("failed" in rich) return failed(res, rich.failed, rich.message, echo);
  return ok(res, rich.data, echo);
}

async function sendMessage(params: Record<string, unknown>, bot: SimBot, echo: unknown, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  if (params.detail_type !== "group") refuse(`send_message: detail_type ${JSON.stringify(params.detail_type)} (this sim serves groups)`, 10003);
  const group = requireString(params, "group_id", "send_message");
  const read = readMessage(params.message);
  if (!state.groups.has(group)) return failed(res, GROUP_NOT_FOUND, "group not found", echo);
  const message = checkSegments(state, group, read);
  if (!Array.isArray(message)) refuse(message.reason, message.refuse);
  // The implementation's own send queue (rate limiting) holds the send before doing it.
  if (state.sendDelayMs > 0) await new Promise((r) => setTimeout(r, state.sendDelayMs));
  const fault: SendFault | undefined = state.sendFaults.shift() ?? state.sendDraw.draw();
  if (fault !== undefined) {
    state.emit("fault", fault);
    if (typeof fault === "object") return failed(res, fault.retcode, "injected failure", echo);
    switch (fault) {
      case "429":
        return sendText(res, "too many requests", 429, "text/plain", { "retry-after": "2" });
      case "503":
        return sendText(res, "service unavailable", 503);
      case "reset":
      case "reset-before":
        res.socket?.destroy();
        return;
      case "500":
        return sendText(res, "internal error", 500);
      case "stall":
        stall(res, ctx.parked);
        return;
      case "reset-after":
      case "500-after":
      case "stall-after":
      case "malformed":
        state.recordSent(group, message, bot);
        if (fault === "500-after") return sendText(res, "internal error", 500);
        if (fault === "reset-after") {
          res.socket?.destroy();
          return;
        }
        if (fault === "malformed") return sendText(res, '{"status":"ok","retcode":0,"data":{"message_', 200, "application/json");
        stall(res, ctx.parked);
        return;
    }
  }
  const sent = state.recordSent(group, message, bot);
  ok(res, { message_id: sent.message_id, time: Date.now() / 1000 }, echo);
}

async function latestEvents(params: Record<string, unknown>, echo: unknown, req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  const limit = optionalInt(params, "limit", "get_latest_events");
  const timeout = optionalInt(params, "timeout", "get_latest_events");
  const fault: PollFault | undefined = state.pollFaults.shift();
  if (fault !== undefined) return pollFault(fault, res, ctx);
  if (state.holding > 0) {
    // Implementation-defined (spec §3): an error, an empty list, or the same list to all.
    state.counters.concurrentPolls++;
    if (state.concurrentPolls === "error") return failed(res, 35000, "another get_latest_events is in progress", echo);
    if (state.concurrentPolls === "empty") return ok(res, [], echo);
  }
  const holdMs = state.timeoutMode === "instant" ? 0 : timeout > 0 ? timeout * 1000 : state.timeoutMode === "gocqhttp" ? Infinity : 0;
  if (!state.hasListable() && holdMs > 0) {
    state.holding++;
    state.counters.heldPolls++;
    state.emit("holding");
    await new Promise<void>((resolve) => {
      const timer = holdMs === Infinity ? undefined : setTimeout(done, holdMs);
      function done(): void {
        clearTimeout(timer);
        state.off("queued", onQueued);
        res.off("close", done);
        ctx.parked.delete(res);
        resolve();
      }
      function onQueued(): void {
        if (state.hasListable()) done();
      }
      ctx.parked.add(res);
      state.on("queued", onQueued);
      res.on("close", done);
    });
    state.holding--;
    if (res.destroyed || res.writableEnded || res.socket?.destroyed !== false) return; // the client gave up: nothing taken
  }
  ok(res, state.takeEvents(limit), echo);
}

function pollFault(fault: PollFault, res: ServerResponse, ctx: RouteContext): void {
  ctx.state.emit("fault", fault);
  if (typeof fault === "object") return "data" in fault ? ok(res, fault.data, undefined) : failed(res, fault.retcode, "injected failure");
  switch (fault) {
    case "500":
    case "502":
    case "503":
      return sendText(res, `<html>${fault}</html>`, Number(fault), "text/html");
    case "429":
      return sendText(res, "too many requests", 429, "text/plain", { "retry-after": "1" });
    case "401":
      ctx.state.counters.authFailures++;
      return sendText(res, "unauthorized", 401);
    case "reset":
      res.socket?.destroy();
      return;
    case "stall":
      stall(res, ctx.parked);
      return;
    case "malformed":
      return sendText(res, '{"status":"ok","retcode":0,"data":[{"type":"mess', 200, "application/json");
    case "html":
      return sendText(res, "<html><body>502 Bad Gateway</body></html>", 200, "text/html");
  }
}
