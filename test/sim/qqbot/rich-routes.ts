// The rich parts of the QQ bot OpenAPI as the simulated platform answers them: a guild channel
// send's message_reference (the quoted message must exist unless ignore_get_message_error) and
// image URL, and the recall of a message (DELETE). Recall rules as third-party SDKs describe them:
// a bot recalls its own messages (groups: within 2 minutes of sending), and in a channel others'
// only as an admin. The error codes and texts of refused recalls are [unsourced].
import type { ServerResponse } from "node:http";
import { answerSent, fail, faultBefore, type RouteContext } from "./routes.ts";
import { INTENTS, type QqbotSimState } from "./state.ts";

/** How long after sending a bot may recall a group message [unsourced: the common "2 分钟"]. */
export const GROUP_RECALL_WINDOW_MS = 2 * 60_000;

/** Checks a channel send's message_reference and image (the platform fetches it); answers the refusal and returns false, else true. */
export async function checkChannelRich(res: ServerResponse, p: Record<string, unknown>, channelId: string, state: QqbotSimState): Promise<boolean> {
  const ref = p.message_reference;
  if (ref !== undefined && ref !== null) {
    const r = typeof ref === "object" && !Array.isArray(ref) ? (ref as Record<string, unknown>) : undefined;
    if (!r || typeof r.message_id !== "string" || r.message_id === "") {
      fail(res, 400, 50000, "invalid message_reference");
      return false;
    }
    const known = state.said.get(r.message_id)?.group === `channel:${channelId}` || state.sent.some((m) => m.id === r.message_id && m.group === `channel:${channelId}`);
    if (!known && r.ignore_get_message_error !== true) {
      fail(res, 400, 50046, "get message_reference message error"); // [unsourced] code
      return false;
    }
  }
  if (p.image !== undefined && (typeof p.image !== "string" || !/^https?:\/\//i.test(p.image))) {
    fail(res, 400, 304003, "URL_NOT_ALLOWED");
    return false;
  }
  if (typeof p.image === "string") {
    // The platform downloads the picture before it sends anything; one it cannot get or read refuses the send [unsourced code].
    const got = await fetch(p.image, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    const type = got?.headers.get("content-type") ?? "";
    await got?.body?.cancel();
    if (!got?.ok || !type.startsWith("image/")) {
      fail(res, 400, 304031, "图片获取失败");
      return false;
    }
  }
  return true;
}

export function recall(res: ServerResponse, group: string, messageId: string, ctx: RouteContext): void {
  const { state } = ctx;
  state.counters.sends++;
  const isChannel = group.startsWith("channel:");
  const channel = isChannel ? state.channel(group.slice("channel:".length)) : undefined;
  if (isChannel && !channel) return fail(res, 404, 10003, "channel not exist");
  if (!isChannel && !state.groups.includes(group.slice("group:".length))) return fail(res, 400, 40034024, "请求参数group_openid无效");
  const own = state.sent.find((m) => m.id === messageId && m.group === group);
  const theirs = state.said.get(messageId);
  const other = !own && theirs?.group === group && !state.recalled.some((r) => r.id === messageId);
  if ((!own && !other) || own?.recalled) return fail(res, 404, 40034404, "消息不存在"); // [unsourced]
  if (other && !(isChannel && channel?.botAdmin)) return fail(res, 403, 40034403, "无权限撤回该消息"); // [unsourced]
  if (own && !isChannel && state.now() - (own.at ?? 0) > GROUP_RECALL_WINDOW_MS) return fail(res, 400, 40034400, "消息已超过撤回时限"); // [unsourced]
  const fault = state.sendFaults.shift();
  if (faultBefore(fault, res, ctx)) return;
  if (own) own.recalled = true;
  state.recalled.push({ group, id: messageId });
  state.emit("recalled", { group, id: messageId });
  if (channel) {
    // The channel sees the delete like any other (GUILD_MESSAGES: MESSAGE_DELETE).
    const author = own ? { id: state.bot.id, username: state.bot.username, bot: true } : { id: "0", username: "member" };
    state.publish("MESSAGE_DELETE", { message: { id: messageId, channel_id: channel.id, guild_id: channel.guildId, author }, op_user: { id: state.bot.id } }, INTENTS.GUILD_MESSAGES);
  }
  answerSent(fault, res, ctx, {});
}
