// One getUpdates entry as the relay's InboundMessage, a skip, or a rejection. Pure and total: any
// JSON value gives a verdict, never a throw (fuzzed in test/bridge/networks/telegram/fuzz.test.ts).
import type { InboundMessage } from "../../network.ts";
import { readableText } from "../shared/readable.ts";
import type { GroupIndex } from "./groups.ts";
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

export function readUpdate(raw: unknown, groups: GroupIndex, botId: string | undefined): UpdateVerdict {
  const head = UpdateIdSchema.safeParse(raw);
  if (!head.success) return { kind: "no-id", reason: firstIssue(head.error) };
  const updateId = head.data.update_id;
  if (head.data.message === undefined) return { kind: "skip", updateId, reason: "not a message" };
  const parsed = MessageSchema.safeParse(head.data.message);
  if (!parsed.success) return { kind: "reject", updateId, reason: firstIssue(parsed.error, "message") };
  const m = parsed.data;
  if (m.chat.type !== "group" && m.chat.type !== "supergroup") return { kind: "skip", updateId, reason: `${m.chat.type || "unknown"} chat` };
  const group = groups.match({ id: String(m.chat.id), ...(m.chat.username ? { username: m.chat.username } : {}) }, topicOf(m));
  if (!group) return { kind: "skip", updateId, reason: "unconfigured group" };
  const from = sender(m);
  // Bots get no updates for their own sends; one that comes anyway is never relayed.
  if (botId !== undefined && from.id === botId) return { kind: "skip", updateId, reason: "our own message" };
  const text = messageText(m);
  if (text === undefined) return { kind: "skip", updateId, reason: "service message" };
  const reply = replyToId(m);
  return {
    kind: "message",
    updateId,
    message: {
      // message_id is unique within its chat: stable on redelivery, and the form send() answers.
      id: messageKey(group.key, m.message_id),
      group: group.key,
      senderId: from.id,
      senderName: from.name,
      text: readableText(text),
      ...(reply === undefined ? {} : { replyTo: messageKey(group.key, reply) }),
      time: dateOf(m.date),
    },
  };
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
