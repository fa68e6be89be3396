// One getUpdates entry as the relay's InboundMessage, a skip, or a rejection. Pure and total: any
// JSON value gives a verdict, never a throw (fuzzed in test/bridge/networks/telegram/fuzz.test.ts).
import type { InboundMessage } from "../../network.ts";
import { readableText } from "../shared/readable.ts";
import type { GroupIndex } from "./groups.ts";
import { mediaOf } from "./media-ref.ts";
import { messageText, replyToId, sender, topicOf } from "./message.ts";
import { firstIssue, MessageSchema, UpdateIdSchema } from "./schema.ts";

export type UpdateVerdict =
  /** No usable update_id: the offset cannot confirm it on its own. */
  | { kind: "no-id"; reason: string }
  | { kind: "message"; updateId: number; message: InboundMessage }
  /** Not for the relay (another update kind, chat or group; a service message); confirmed quietly. */
  | { kind: "skip"; updateId: number; reason: string }
  /** A message of the wrong shape: logged with its id, counted, confirmed and skipped. */
  | { kind: "reject"; updateId: number; reason: string };

export function readUpdate(raw: unknown, groups: GroupIndex, botId: string | undefined, botUsername?: string): UpdateVerdict {
  const head = UpdateIdSchema.safeParse(raw);
  if (!head.success) return { kind: "no-id", reason: firstIssue(head.error) };
  const updateId = head.data.update_id;
  // An edit comes as edited_message: the whole message as it now reads, under the original message_id.
  const edited = head.data.message === undefined && head.data.edited_message !== undefined;
  const body = edited ? head.data.edited_message : head.data.message;
  if (body === undefined) return { kind: "skip", updateId, reason: "not a message" };
  const parsed = MessageSchema.safeParse(body);
  if (!parsed.success) return { kind: "reject", updateId, reason: firstIssue(parsed.error, "message") };
  const m = parsed.data;
  if (m.chat.type !== "group" && m.chat.type !== "supergroup") return { kind: "skip", updateId, reason: `${m.chat.type || "unknown"} chat` };
  const group = groups.match({ id: String(m.chat.id), ...(m.chat.username ? { username: m.chat.username } : {}) }, topicOf(m));
  if (!group) return { kind: "skip", updateId, reason: "unconfigured group" };
  const from = sender(m);
  // Bots get no updates for their own sends; one that comes anyway is never relayed.
  if (botId !== undefined && from.id === botId) return { kind: "skip", updateId, reason: "our own message" };
  const said = messageText(m);
  if (said === undefined) return { kind: "skip", updateId, reason: "service message" };
  // "@our_bot …" at the start addresses the bridge: cut out, shown by the relay as the nick it stands for.
  const cut = botUsername === undefined ? undefined : leadingMention(said, botUsername);
  const self = cut !== undefined && cut.trim() !== "" ? cut : undefined; // a bare "@our_bot" stays as said
  const text = self ?? said;
  const key = messageKey(group.key, m.message_id);
  if (edited) {
    // Only the text (or caption) of an edit is carried; a replaced photo stays what it was.
    const at = m.edit_date ?? m.date;
    return {
      kind: "message",
      updateId,
      message: { id: `${key}:edit:${at}`, group: group.key, senderId: from.id, senderName: from.name, text: readableText(m.text ?? m.caption ?? ""), kind: "edit", ref: key, time: dateOf(at) },
    };
  }
  const reply = replyToId(m);
  // A picture or file goes as media (the relay fetches and uploads it): the text is its caption,
  // or without one the placeholder ("[photo]"), never an empty line.
  const media = mediaOf(m);
  const caption = m.caption !== undefined && readableText(m.caption) === m.caption ? m.caption : undefined;
  return {
    kind: "message",
    updateId,
    message: {
      // message_id is unique within its chat: stable on redelivery, and the form send() answers.
      id: key,
      group: group.key,
      senderId: from.id,
      senderName: from.name,
      text: readableText(media.length > 0 && caption !== undefined ? caption : text),
      ...(reply === undefined ? {} : { replyTo: messageKey(group.key, reply) }),
      ...(media.length > 0 ? { media } : {}),
      ...(self !== undefined ? { mentionsSelf: true } : {}),
      time: dateOf(m.date),
    },
  };
}

/** The text without a leading "@username" of the bot (usernames are caseless), or undefined when it has none. */
function leadingMention(text: string, username: string): string | undefined {
  const m = /^\s*@(\w+)\b[\s,:]*/.exec(text);
  if (!m || m[1]!.toLowerCase() !== username.toLowerCase()) return undefined;
  return text.slice(m[0].length);
}

/** The id of message `messageId` of a configured group: inbound ids and send results share it. */
export function messageKey(group: string, messageId: number): string {
  return `${group}:${messageId}`;
}

/** A message's date (Unix seconds); a date no Date can hold reads as now. */
function dateOf(seconds: number): Date {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}
