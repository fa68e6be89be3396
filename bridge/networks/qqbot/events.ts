// Message events (protocols.md §6.3 "Events") as the relay's InboundMessage: guild channel
// messages (MESSAGE_CREATE, AT_MESSAGE_CREATE) and group @-messages (GROUP_AT_MESSAGE_CREATE).
// Every message also opens a reply window (its id is the msg_id of passive replies).
import type { InboundMessage, MediaRef } from "../../network.ts";
import { DELETE_EVENTS, mediaOf, mediaText, mentionNames, readDelete, replyOf } from "./rich-events.ts";

export const CHANNEL_EVENTS = new Set(["MESSAGE_CREATE", "AT_MESSAGE_CREATE"]);
/** GROUP_MESSAGE_CREATE: every message of a group (2026, where the group owner allows it; its intent bit is unsourced), read like the @ one. */
export const GROUP_EVENTS = new Set(["GROUP_AT_MESSAGE_CREATE", "GROUP_MESSAGE_CREATE"]);

export type ReadEvent =
  /** A message of a configured group/channel; `text` may be empty (a bare @-mention): then msg is undefined but the window opens. */
  | { kind: "message"; group: string; msgId: string; own: boolean; msg: InboundMessage | undefined }
  /** A guild channel message deleted: a retraction for the relay (opens no reply window). */
  | { kind: "retract"; group: string; msg: InboundMessage }
  /** Not for us (another channel, an event type we do not relay). */
  | { kind: "skip"; why: string }
  /** Malformed: counted, logged once with its id, acknowledged. */
  | { kind: "reject"; why: string };

export interface EventContext {
  /** The bot's own user id (READY / users/@me), when known. */
  botId: string | undefined;
  /** Configured group keys ("channel:<id>", "group:<openid>"). */
  groups: ReadonlySet<string>;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined);
const obj = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** Guild text arrives with &, <, > escaped (message_format.md). */
export function unescapeGuild(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}
/** Escaped on send, so a relayed "<@123>" is text, not a mention; the platform turns it back. */
export function escapeGuild(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function time(v: unknown): Date {
  const ms = typeof v === "string" ? Date.parse(v) : typeof v === "number" ? v * 1000 : Number.NaN;
  return Number.isFinite(ms) ? new Date(ms) : new Date();
}

/** The message of a channel or group event; none when it says nothing (no text, no media). */
function messageOf(m: { id: string; group: string; senderId: string; senderName: string; text: string; media: MediaRef[]; replyTo: string | undefined; mentionsSelf: boolean; own: boolean; timestamp: unknown }): InboundMessage | undefined {
  if (m.text.trim() === "" && m.media.length === 0) return undefined;
  return {
    id: m.id,
    group: m.group,
    senderId: m.senderId,
    senderName: m.senderName,
    text: m.text.trim() === "" ? mediaText(m.media) : m.text,
    ...(m.media.length ? { media: m.media } : {}),
    ...(m.replyTo ? { replyTo: m.replyTo } : {}),
    ...(m.mentionsSelf ? { mentionsSelf: true } : {}),
    time: time(m.timestamp),
    ...(m.own ? { own: true } : {}),
  };
}

export function readEvent(t: string, raw: unknown, ctx: EventContext): ReadEvent {
  const d = obj(raw);
  if (CHANNEL_EVENTS.has(t)) {
    const channel = str(d.channel_id);
    const id = str(d.id);
    if (!channel || !id) return { kind: "reject", why: `${t} without channel_id or id` };
    const group = `channel:${channel}`;
    if (!ctx.groups.has(group)) return { kind: "skip", why: "unconfigured channel" };
    const author = obj(d.author);
    const authorId = str(author.id);
    if (!authorId) return { kind: "reject", why: `${t} without author.id` };
    const own = ctx.botId !== undefined && authorId === ctx.botId;
    let text = unescapeGuild(typeof d.content === "string" ? d.content : "");
    // The @ of the bot that made it an AT message is not part of what was said: the relay shows
    // the nick it stands for (mentionsSelf).
    const atBot = ctx.botId ? new RegExp(`^\\s*<@!?${ctx.botId}>\\s*`) : undefined;
    const mentionsSelf = atBot !== undefined && atBot.test(text);
    if (atBot) text = text.replace(atBot, "");
    text = mentionNames(text, d);
    const media = mediaOf(d);
    const replyTo = replyOf(d);
    const name = str(obj(d.member).nick) ?? str(author.username) ?? authorId;
    const msg = messageOf({ id, group, senderId: authorId, senderName: name, text, media, replyTo, mentionsSelf, own, timestamp: d.timestamp });
    return { kind: "message", group, msgId: id, own, msg };
  }
  if (GROUP_EVENTS.has(t)) {
    const openid = str(d.group_openid) ?? str(d.group_id);
    const id = str(d.id);
    if (!openid || !id) return { kind: "reject", why: `${t} without group_openid or id` };
    const group = `group:${openid}`;
    if (!ctx.groups.has(group)) return { kind: "skip", why: "unconfigured group" };
    const author = obj(d.author);
    const member = str(author.member_openid) ?? str(author.id);
    if (!member) return { kind: "reject", why: `${t} without author.member_openid` };
    // Where the @ of the bot was, the content keeps a leading space.
    const text = (typeof d.content === "string" ? d.content : "").replace(/^\s+/, "");
    const media = mediaOf(d);
    const replyTo = replyOf(d);
    // Groups give openids only (a username since 2026-04 where the platform sends one).
    const name = str(author.username) ?? member;
    // A group @-message had the bot's @ (QQ puts one in a reply to the bot's message): cut out, shown by the relay.
    const mentionsSelf = t === "GROUP_AT_MESSAGE_CREATE";
    const msg = messageOf({ id, group, senderId: member, senderName: name, text, media, replyTo, mentionsSelf, own: false, timestamp: d.timestamp });
    return { kind: "message", group, msgId: id, own: false, msg };
  }
  if (DELETE_EVENTS.has(t)) {
    const del = readDelete(d, ctx.botId);
    if (!del) return { kind: "reject", why: `${t} without message.id or message.channel_id` };
    if (!ctx.groups.has(del.group)) return { kind: "skip", why: "unconfigured channel" };
    return { kind: "retract", group: del.group, msg: del.msg };
  }
  return { kind: "skip", why: `event ${t}` };
}
