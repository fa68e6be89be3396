// The Bot API wire protocol as the server (tdlib/telegram-bot-api) speaks it, protocols.md §4:
// /bot<token>/<method>, parameters from the query, a form or JSON, {"ok":…} envelopes, the
// getUpdates offset/limit/timeout rules, one parked poll per bot, webhooks, sendMessage's checks.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PollFault, SendFault, SimChat, SimState } from "./state.ts";
import { deleteMessage, editMessage, fileDownload, getFile, sendMedia } from "./rich-routes.ts";
import { readBody, stall } from "../shared/http.ts";

export const LONG_POLL_MAX_TIMEOUT = 50;
export const MAX_TEXT_LENGTH = 4096;
/** The server batches updates that arrive together (LONG_POLL_WAIT_AFTER). */
const BATCH_MS = 2;

export interface RouteContext {
  state: SimState;
  /** Open responses (parked polls, stalls): ended on close. */
  open: Set<ServerResponse>;
  /** The parked getUpdates, if any, and how to end it. */
  parked: { res: ServerResponse; abort: (description: string) => void } | null;
}

export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendRaw(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  sendRaw(res, status, "text/html", html);
}

/** An upstream or proxy page the Bot API never sends itself. */
export const BAD_GATEWAY = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

export function ok(res: ServerResponse, result: unknown): void {
  sendJson(res, { ok: true, result });
}

export function fail(res: ServerResponse, code: number, description: string, parameters?: Record<string, unknown>): void {
  sendJson(res, { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) }, code);
}

class BadParams extends Error {}

/** Parameters from the query string and the body (urlencoded or JSON), as the server merges them. */
async function params(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const body = await readBody(req);
  if (body === "") return out;
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") {
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      throw new BadParams("Bad Request: can't parse JSON object");
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) throw new BadParams("Bad Request: JSON object expected");
    return { ...out, ...(data as Record<string, unknown>) };
  }
  if (type === "application/x-www-form-urlencoded") return { ...out, ...Object.fromEntries(new URLSearchParams(body)) };
  throw new BadParams(`Bad Request: unsupported Content-Type ${type || "(none)"}`);
}

/** get_integer_arg: a missing or unparsable value is the default; the result is clamped. */
export function integer(v: unknown, def: number, min = -(2 ** 31), max = 2 ** 31 - 1): number {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n)) return def;
  return Math.min(max, Math.max(min, n));
}

export async function route(req: IncomingMessage, res: ServerResponse, url: URL, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  if (url.pathname.startsWith("/file/bot")) return fileDownload(req, res, url, ctx);
  const m = /^\/bot([^/]*)\/([A-Za-z]+)$/.exec(url.pathname);
  if (!m) return fail(res, 404, "Not Found");
  if (decodeURIComponent(m[1]!) !== state.token) {
    state.counters.unauthorized++;
    state.emit("unauthorized");
    return fail(res, 401, "Unauthorized");
  }
  const method = m[2]!.toLowerCase(); // method names are case-insensitive
  let p: Record<string, unknown>;
  try {
    p = await params(req, url);
  } catch (err) {
    if (!(err instanceof BadParams)) throw err;
    state.violation(`${m[2]}: ${err.message}`);
    return fail(res, 400, err.message);
  }
  switch (method) {
    case "getme":
      state.counters.getMe++;
      return ok(res, { ...state.bot, can_join_groups: true, can_read_all_group_messages: true, supports_inline_queries: false });
    case "getupdates":
      return getUpdates(req, res, p, ctx);
    case "sendmessage":
      return await sendMessage(res, p, ctx);
    case "sendphoto":
    case "senddocument":
      return await sendMedia(res, p, ctx, method === "sendphoto" ? "photo" : "document");
    case "editmessagetext":
    case "editmessagecaption":
      return editMessage(res, p, ctx, method === "editmessagetext" ? "text" : "caption");
    case "deletemessage":
      return deleteMessage(res, p, ctx);
    case "getfile":
      return getFile(res, p, ctx);
    case "deletewebhook":
    case "setwebhook": {
      const next = method === "setwebhook" ? String(p.url ?? "") : "";
      if (method === "deletewebhook") state.counters.deleteWebhook++;
      if (next !== "") ctx.parked?.abort("Conflict: terminated by setWebhook request");
      if (p.drop_pending_updates === true || p.drop_pending_updates === "true") state.queue.splice(0);
      const was = state.webhook;
      state.webhook = next;
      return sendJson(res, { ok: true, result: true, description: next === "" ? (was === "" ? "Webhook is already deleted" : "Webhook was deleted") : "Webhook was set" });
    }
    case "getwebhookinfo":
      return ok(res, { url: state.webhook, has_custom_certificate: false, pending_update_count: state.queue.length });
    default:
      state.violation(`unknown method ${m[2]}`);
      return fail(res, 404, "Not Found");
  }
}

async function getUpdates(req: IncomingMessage, res: ServerResponse, p: Record<string, unknown>, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  state.counters.getUpdates++;
  if (state.webhook !== "") {
    state.counters.conflicts++;
    return fail(res, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  }
  const offset = integer(p.offset, 0);
  const limit = integer(p.limit, 100, 1, 100);
  let timeout = integer(p.timeout, 0, 0, LONG_POLL_MAX_TIMEOUT);
  const allowed = typeof p.allowed_updates === "string" ? p.allowed_updates : p.allowed_updates === undefined ? undefined : JSON.stringify(p.allowed_updates);
  const now = Date.now();
  if (state.busyLoopGuard && offset === state.previousOffset && timeout < 3 && now < state.previousStart + 3_000) timeout = 3;
  state.previousOffset = offset;
  state.previousStart = now;
  state.polls.push({ offset, limit, timeout, allowedUpdates: allowed, at: state.now() });
  state.emit("poll");

  const fault = state.pollFaults.shift();
  if (fault !== undefined) return pollFault(fault, req, res, ctx);

  state.applyOffset(offset);
  const from = offset > 0 ? offset : 0; // 0 or negative (after trimming): from the head
  let updates = state.available(from, limit);
  if (updates.length === 0 && timeout > 0) {
    // One parked poll per bot: a new one that would block terminates the old one.
    if (ctx.parked !== null) {
      state.violation("getUpdates: a second long poll while one is parked (two clients, or a poll not cancelled)");
      ctx.parked.abort("Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
    }
    const woke = await park(res, ctx, timeout * 1000);
    if (woke === "closed" || woke === "aborted") return;
    updates = state.available(from, limit);
  }
  state.handOut(updates);
  ok(res, updates);
}

/** Holds a poll until an update is queued (then a short batching pause), the hold ends, or it is aborted. */
function park(res: ServerResponse, ctx: RouteContext, holdMs: number): Promise<"queued" | "timeout" | "closed" | "aborted"> {
  const { state } = ctx;
  return new Promise((resolve) => {
    let batching: NodeJS.Timeout | undefined;
    const done = (v: "queued" | "timeout" | "closed" | "aborted"): void => {
      clearTimeout(timer);
      clearTimeout(batching);
      state.off("queued", onQueued);
      res.off("close", onClose);
      ctx.open.delete(res);
      if (ctx.parked?.res === res) {
        ctx.parked = null;
        state.emit("unparked");
      }
      resolve(v);
    };
    const onQueued = (): void => {
      batching ??= setTimeout(() => done("queued"), BATCH_MS);
    };
    const onClose = (): void => done("closed");
    const timer = setTimeout(() => done("timeout"), holdMs);
    ctx.open.add(res);
    state.emit("parked");
    ctx.parked = {
      res,
      abort: (description) => {
        state.counters.conflicts++;
        done("aborted");
        fail(res, 409, description);
      },
    };
    state.on("queued", onQueued);
    res.on("close", onClose);
  });
}

function pollFault(fault: PollFault, _req: IncomingMessage, res: ServerResponse, ctx: RouteContext): void {
  ctx.state.emit("fault", fault);
  if (typeof fault === "object") {
    if ("result" in fault) return sendJson(res, { ok: true, result: fault.result });
    return fail(res, 429, `Too Many Requests: retry after ${fault.retryAfter}`, { retry_after: fault.retryAfter });
  }
  switch (fault) {
    case "500":
      return fail(res, 500, "Internal Server Error: restart");
    case "502":
      return sendHtml(res, 502, BAD_GATEWAY);
    case "html":
      return sendHtml(res, 200, "<html><body>maintenance</body></html>");
    case "malformed":
      return sendRaw(res, 200, "application/json", '{"ok":true,"result":[{"update_id":');
    case "reset":
      return void res.socket?.destroy();
    case "stall":
      stall(res, ctx.open);
      return;
    case "conflict":
      ctx.state.counters.conflicts++;
      return fail(res, 409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
  }
}

/** The chat (and topic) a chat-changing call names, or undefined once the refusal was answered. */
export function targetChat(res: ServerResponse, p: Record<string, unknown>, state: SimState): { chat: SimChat; threadId: number | undefined } | undefined {
  const chatRef = p.chat_id === undefined || p.chat_id === "" ? undefined : String(p.chat_id);
  if (chatRef === undefined) return void fail(res, 400, "Bad Request: chat_id is empty");
  const chat = state.chat(chatRef);
  if (!chat) return void fail(res, 400, "Bad Request: chat not found");
  if (chat.migratedTo !== undefined) {
    return void fail(res, 400, "Bad Request: group chat was upgraded to a supergroup chat", { migrate_to_chat_id: chat.migratedTo });
  }
  if (chat.kicked) return void fail(res, 403, `Forbidden: bot was kicked from the ${chat.type === "group" ? "group" : "supergroup"} chat`);
  let threadId: number | undefined;
  if (p.message_thread_id !== undefined && p.message_thread_id !== "") {
    threadId = integer(p.message_thread_id, -1);
    if (!chat.forum || !(chat.topics ?? []).includes(threadId)) return void fail(res, 400, "Bad Request: message thread not found");
  }
  return { chat, threadId };
}

/**
 * reply_parameters (JSON, or a JSON string in a form) or the older reply_to_message_id: the
 * replied-to message must exist in the chat unless allow_sending_without_reply. Answers the refusal
 * and returns false, else true.
 */
export function checkReply(res: ServerResponse, p: Record<string, unknown>, chat: SimChat, state: SimState): boolean {
  let rp: unknown = p.reply_parameters;
  if (typeof rp === "string") {
    try {
      rp = JSON.parse(rp);
    } catch {
      fail(res, 400, "Bad Request: can't parse reply parameters JSON object");
      return false;
    }
  }
  let id: number | undefined;
  let allowWithout = p.allow_sending_without_reply === true || p.allow_sending_without_reply === "true";
  if (rp !== undefined && rp !== null) {
    if (typeof rp !== "object" || Array.isArray(rp)) {
      fail(res, 400, "Bad Request: can't parse reply parameters JSON object");
      return false;
    }
    const o = rp as Record<string, unknown>;
    id = integer(o.message_id, 0);
    allowWithout = o.allow_sending_without_reply === true;
    if (o.chat_id !== undefined && String(o.chat_id) !== String(chat.id)) state.violation("reply_parameters.chat_id of another chat (a quote across chats)");
  } else if (p.reply_to_message_id !== undefined) {
    id = integer(p.reply_to_message_id, 0);
  }
  if (id === undefined) return true;
  const m = state.stored(chat.id, id);
  if ((!m || m.deleted) && !allowWithout) {
    fail(res, 400, "Bad Request: message to be replied not found");
    return false;
  }
  return true;
}

/** Applies a send fault that comes before the action; true when it answered (or stalled). */
export function faultBefore(fault: SendFault | undefined, res: ServerResponse, ctx: RouteContext): boolean {
  if (fault !== undefined) ctx.state.emit("fault", fault);
  if (typeof fault === "object") {
    fail(res, 429, `Too Many Requests: retry after ${fault.retryAfter}`, { retry_after: fault.retryAfter });
    return true;
  }
  switch (fault) {
    case "503":
      sendHtml(res, 503, "<html><body><h1>503 Service Unavailable</h1></body></html>");
      return true;
    case "reset":
    case "reset-before":
      res.socket?.destroy();
      return true;
    case "500":
      fail(res, 500, "Internal Server Error: restart");
      return true;
    case "stall":
      stall(res, ctx.open);
      return true;
  }
  return false;
}

/** Applies a send fault that comes after the action ran; true when it replaced the answer. */
export function faultAfter(fault: SendFault | undefined, res: ServerResponse, ctx: RouteContext): boolean {
  switch (fault) {
    case "500-after":
      fail(res, 500, "Internal Server Error: timeout");
      return true;
    case "502":
      sendHtml(res, 502, BAD_GATEWAY);
      return true;
    case "reset-after":
      res.socket?.destroy();
      return true;
    case "stall-after":
      stall(res, ctx.open);
      return true;
    case "malformed":
      sendRaw(res, 200, "application/json", '{"ok":true,"result":{"message_id":');
      return true;
  }
  return false;
}

async function sendMessage(res: ServerResponse, p: Record<string, unknown>, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  state.counters.sendMessage++;
  const chatRef = p.chat_id === undefined || p.chat_id === "" ? undefined : String(p.chat_id);
  if (chatRef === undefined) return fail(res, 400, "Bad Request: chat_id is empty");
  const text = typeof p.text === "string" ? p.text : p.text === undefined ? "" : String(p.text);
  if (text.trim() === "") return fail(res, 400, "Bad Request: message text is empty");
  const target = targetChat(res, p, state);
  if (!target) return;
  const { chat, threadId } = target;
  // The limit counts characters; UTF-16 units here, which is never fewer.
  if (text.length > MAX_TEXT_LENGTH) return fail(res, 400, "Bad Request: message is too long");
  if (!checkReply(res, p, chat, state)) return;
  if (p.parse_mode !== undefined) {
    // Not refused by the server, but a bridge relaying plain text must not have it parsed.
    state.violation(`sendMessage: parse_mode ${String(p.parse_mode)} on relayed plain text`);
  }
  // A send held on the server (a flood wait queue) before it is done.
  if (state.sendDelayMs > 0) await new Promise((r) => setTimeout(r, state.sendDelayMs));
  const fault = state.sendFaults.shift() ?? state.sendDraw.draw();
  if (faultBefore(fault, res, ctx)) return;
  const sent = state.recordSent(chat, text, threadId, p);
  if (faultAfter(fault, res, ctx)) return;
  ok(res, {
    message_id: sent.messageId,
    from: state.bot,
    chat: { id: chat.id, type: chat.type ?? "supergroup", ...(chat.title ? { title: chat.title } : {}) },
    date: Math.floor(Date.now() / 1000),
    text,
    ...(threadId === undefined ? {} : { message_thread_id: threadId, is_topic_message: true }),
  });
}
