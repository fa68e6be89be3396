// The OpenAPI as the platform answers it (protocols.md §6.1–6.4): getAppAccessToken (errors as
// HTTP 200 with a code), `Authorization: QQBot <token>` on every call, /gateway/bot, /users/@me,
// channel messages (passive within 5 min, proactive within the daily quota, echoed back to the
// channel) and group messages (passive only: a fresh msg_id, ≤ 5 replies, msg_seq unique per msg_id).
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { readBody, replyJson, stall } from "../shared/http.ts";
import { GROUP_REPLIES_PER_MSG, INTENTS, REPLY_WINDOW_MS, type QqbotSimState, type SendFault } from "./state.ts";
import { checkChannelRich, recall } from "./rich-routes.ts";

export interface RouteContext {
  state: QqbotSimState;
  open: Set<ServerResponse>;
  gatewayUrl: string;
  /** Whether a gateway socket is live (sends need one unless the bot uses the webhook). */
  online: () => boolean;
  webhookMode: () => boolean;
}

export function fail(res: ServerResponse, status: number, code: number, message: string): void {
  replyJson(res, status, { message, code, err_code: code, trace_id: randomUUID().replaceAll("-", "") });
}

/** What the platform escapes in guild text it delivers and turns back on send (message_format.md). */
export function escapeGuild(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
export function unescapeGuild(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

export async function route(req: IncomingMessage, res: ServerResponse, url: URL, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  if (url.pathname === "/app/getAppAccessToken") return token(req, res, ctx);
  const auth = req.headers.authorization ?? "";
  if (!auth.startsWith("QQBot ")) {
    state.counters.refused401++;
    if (auth.startsWith("Bot ")) return fail(res, 401, 11245, "固定Token已禁用，请使用AccessToken鉴权");
    return fail(res, 401, 11241, "参数中缺少 token");
  }
  if (!state.tokenValid(auth.slice("QQBot ".length))) {
    state.counters.refused401++;
    state.emit("refused401");
    return fail(res, 401, 11244, "token not exist or expire");
  }
  if (req.headers["x-union-appid"] !== undefined && req.headers["x-union-appid"] !== state.appId) {
    state.violation("X-Union-Appid is not the bot's app id");
  }
  let m: RegExpExecArray | null;
  if (req.method === "GET" && url.pathname === "/gateway/bot") {
    return replyJson(res, 200, { url: ctx.gatewayUrl, shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 } });
  }
  if (req.method === "GET" && url.pathname === "/gateway") return replyJson(res, 200, { url: ctx.gatewayUrl });
  if (req.method === "GET" && url.pathname === "/users/@me") return replyJson(res, 200, { id: state.bot.id, username: state.bot.username, avatar: "", union_openid: "U0" });
  if (req.method === "POST" && (m = /^\/channels\/([^/]+)\/messages$/.exec(url.pathname))) return channelSend(req, res, decodeURIComponent(m[1]!), ctx);
  if (req.method === "POST" && (m = /^\/v2\/groups\/([^/]+)\/messages$/.exec(url.pathname))) return groupSend(req, res, decodeURIComponent(m[1]!), ctx);
  if (req.method === "DELETE" && (m = /^\/channels\/([^/]+)\/messages\/([^/]+)$/.exec(url.pathname))) return recall(res, `channel:${decodeURIComponent(m[1]!)}`, decodeURIComponent(m[2]!), ctx);
  if (req.method === "DELETE" && (m = /^\/v2\/groups\/([^/]+)\/messages\/([^/]+)$/.exec(url.pathname))) return recall(res, `group:${decodeURIComponent(m[1]!)}`, decodeURIComponent(m[2]!), ctx);
  state.violation(`no API ${req.method} ${url.pathname}`);
  return fail(res, 404, 404, "no such API");
}

async function token(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  state.counters.tokenRequests++;
  const body = await readBody(req);
  // Failures are HTTP 200 with a code (nonebot/adapter-qq#164).
  if (req.method !== "POST" || !(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) {
    state.violation("getAppAccessToken without a JSON body");
    return replyJson(res, 200, { code: 100007, message: "appid invalid" });
  }
  let p: { appId?: unknown; clientSecret?: unknown };
  try {
    p = JSON.parse(body) as typeof p;
  } catch {
    return replyJson(res, 200, { code: 100002, message: "internal err" });
  }
  if (typeof p.appId !== "string") {
    state.violation("getAppAccessToken: appId is not a string");
    return replyJson(res, 200, { code: 100002, message: "internal err" });
  }
  if (p.appId !== state.appId || p.clientSecret !== state.secret) return replyJson(res, 200, { code: 100016, message: "invalid appid or secret" });
  const { token: t, expiresIn } = state.issueToken();
  return replyJson(res, 200, { access_token: t, expires_in: String(expiresIn) });
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) return undefined;
  try {
    const v: unknown = JSON.parse(await readBody(req));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Applies a before-the-action fault; true when it answered (or left the request hanging). */
export function faultBefore(fault: SendFault | undefined, res: ServerResponse, ctx: RouteContext): boolean {
  switch (fault) {
    case "reset":
      res.socket?.destroy();
      return true;
    case "500":
      fail(res, 503, 503, "service unavailable");
      return true;
    case "stall":
      stall(res, ctx.open);
      return true;
    default:
      return false;
  }
}

/** Answers a send that ran; an "-after" fault loses or replaces the answer. */
export function answerSent(fault: SendFault | undefined, res: ServerResponse, ctx: RouteContext, body: unknown): void {
  switch (fault) {
    case "reset-after":
      return void res.socket?.destroy();
    case "500-after":
      return fail(res, 500, 500, "internal error");
    case "stall-after":
      return stall(res, ctx.open);
    default:
      replyJson(res, 200, body);
  }
}

async function channelSend(req: IncomingMessage, res: ServerResponse, channelId: string, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  state.counters.sends++;
  const p = await jsonBody(req);
  if (!p) return fail(res, 400, 50000, "invalid json body");
  const channel = state.channel(channelId);
  if (!channel) return fail(res, 404, 10003, "channel not exist");
  const content = typeof p.content === "string" ? p.content : "";
  if (content.trim() === "" && p.embed === undefined && p.ark === undefined && p.image === undefined && p.markdown === undefined) return fail(res, 400, 50006, "消息为空");
  if (!ctx.online() && !ctx.webhookMode()) return fail(res, 400, 304018, "SESSION_NOT_EXIST");
  const msgId = typeof p.msg_id === "string" && p.msg_id !== "" ? p.msg_id : undefined;
  if (!(await checkChannelRich(res, p, channelId, state))) return;
  const fault = state.sendFaults.shift();
  if (faultBefore(fault, res, ctx)) return;
  if (msgId !== undefined) {
    const said = state.said.get(msgId);
    if (!said || said.group !== `channel:${channelId}`) return fail(res, 400, 304026, "MSG_ID wrong");
    if (state.now() - said.at > REPLY_WINDOW_MS) return fail(res, 400, 304027, "MSG_EXPIRE");
    said.replies++;
  } else if (!state.takeQuota(channelId)) {
    // The code for an exhausted daily quota is unsourced; 22009 is the documented "消息发送超频".
    return fail(res, 400, 22009, "msg limit exceed");
  }
  const id = state.newMessageId("channel");
  const text = unescapeGuild(content);
  state.remember(id, `channel:${channelId}`);
  state.recordSent({ group: `channel:${channelId}`, text, id, ...(msgId === undefined ? {} : { msgId }), body: p });
  const now = new Date(state.now()).toISOString();
  const message = {
    id,
    channel_id: channelId,
    guild_id: channel.guildId,
    content,
    timestamp: now,
    author: { id: state.bot.id, username: state.bot.username, avatar: "", bot: true },
    seq: state.sent.length,
    seq_in_channel: String(state.sent.length),
    ...(p.message_reference !== undefined ? { message_reference: { message_id: (p.message_reference as { message_id: string }).message_id } } : {}),
    ...(typeof p.image === "string" ? { attachments: [{ content_type: "image/png", filename: "image.png", url: p.image.replace(/^https?:\/\//, "") }] } : {}),
  };
  // "发送成功之后，会触发一个创建消息的事件" (botpy api.py): the own echo.
  state.publish("MESSAGE_CREATE", { ...message, member: { nick: "", roles: ["2"], joined_at: now } }, INTENTS.GUILD_MESSAGES);
  answerSent(fault, res, ctx, message);
}

async function groupSend(req: IncomingMessage, res: ServerResponse, openid: string, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  state.counters.sends++;
  const p = await jsonBody(req);
  if (!p) return fail(res, 400, 50000, "invalid json body");
  if (!state.groups.includes(openid)) return fail(res, 400, 40034024, "请求参数group_openid无效");
  const content = typeof p.content === "string" ? p.content : "";
  if (p.msg_type !== 0 && p.msg_type !== undefined) return fail(res, 400, 40034001, "msg_type 不支持");
  // The v2 group API takes no quote (zhinjs/qq-official-bot: message_reference "暂未支持"): a client sending one expects what never happens.
  if (p.message_reference !== undefined && p.message_reference !== null) state.violation("group send with message_reference (not supported by the v2 group API)");
  if (content.trim() === "") return fail(res, 400, 50006, "消息为空");
  const msgId = typeof p.msg_id === "string" && p.msg_id !== "" ? p.msg_id : undefined;
  if (msgId === undefined) return fail(res, 400, 40034102, "主动消息失败, 无权限");
  const said = state.said.get(msgId);
  if (!said || said.group !== `group:${openid}`) return fail(res, 400, 40034024, "请求参数msg_id无效或越权");
  if (state.now() - said.at > REPLY_WINDOW_MS) return fail(res, 400, 40034005, "回复消息msg_id已过期");
  const seq = p.msg_seq === undefined || p.msg_seq === null ? 1 : p.msg_seq;
  if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 1) return fail(res, 400, 40034001, "msg_seq 无效");
  const fault = state.sendFaults.shift();
  if (faultBefore(fault, res, ctx)) return;
  if (said.seqs.has(seq)) return fail(res, 400, 40054005, "消息被去重，请检查请求msgseq");
  if (said.replies >= GROUP_REPLIES_PER_MSG) return fail(res, 400, 40034128, "被动回复时间或次数超限");
  said.seqs.add(seq);
  said.replies++;
  const id = state.newMessageId("group");
  state.recordSent({ group: `group:${openid}`, text: content, id, msgId, msgSeq: seq, body: p });
  answerSent(fault, res, ctx, { id, timestamp: Math.floor(state.now() / 1000) });
}
