// A relayable group message event as the relay's InboundMessage: rendered text, attachments,
// the sender's display name, ids in the one form send() also answers with.
import type { InboundMessage } from "../../network.ts";
import { readableText } from "../shared/readable.ts";
import type { GroupMessageDelete, GroupMessageEvent } from "./events.ts";
import { renderMessage } from "./segments.ts";

/** Lookups that only improve a message; both may fail (the id is shown then). */
export interface InboundLookups {
  /** A member's display name in the group (the sender, a mentioned user). */
  memberName(groupId: string, userId: string): Promise<string | undefined>;
  /** A URL for a file_id. */
  fileUrl(fileId: string): Promise<string | undefined>;
  /** Our bot's user_id, once known (a mention of it is flagged, not shown). */
  selfId?: () => string | undefined;
}

/** The id of message `messageId` of group `groupId`: inbound ids and send results share it. */
export function messageKey(groupId: string, messageId: string): string {
  return `${groupId}:${messageId}`;
}

export async function inboundOf(e: GroupMessageEvent, lookups: InboundLookups): Promise<InboundMessage> {
  let text: string;
  let attachments: string[] = [];
  let replyTo: string | undefined;
  let media: InboundMessage["media"] = [];
  let mentionsSelf = false;
  try {
    const selfId = lookups.selfId?.();
    const r = await renderMessage(e.message, e.altMessage, { userName: (u) => lookups.memberName(e.groupId, u), fileUrl: (f) => lookups.fileUrl(f), ...(selfId === undefined ? {} : { selfId }) });
    ({ text, attachments, media } = r);
    replyTo = r.replyTo;
    mentionsSelf = r.mentionsSelf === true;
  } catch {
    // Not reached for events classifyEvent passed (segments or an alt_message); kept as a last resort.
    text = "[unreadable message]";
  }
  // Our own echo is never relayed: no lookup for its sender's name.
  const senderName = e.own ? e.userId : ((await lookups.memberName(e.groupId, e.userId).catch(() => undefined)) ?? e.userId);
  return {
    id: messageKey(e.groupId, e.messageId), // message ids are the platform's: stable on redelivery
    group: e.groupId,
    senderId: e.userId,
    senderName,
    // An image alone is readable ("[image]" plus its URL); an empty message is not.
    // A picture alone (or a bare @ of us) has no caption: "" then, not the placeholder.
    text: (media.length > 0 || mentionsSelf) && text.trim() === "" ? "" : readableText(text),
    ...(attachments.length > 0 ? { attachments } : {}),
    ...(replyTo === undefined ? {} : { replyTo: messageKey(e.groupId, replyTo) }),
    ...(media.length > 0 ? { media } : {}),
    ...(mentionsSelf ? { mentionsSelf } : {}),
    time: new Date(e.time * 1000),
    ...(e.own ? { own: true } : {}),
  };
}

/**
 * A deleted message as a "retract" of `group:message_id`. Its own id is never the deleted
 * message's (the relay dedupes by id); `own` when our bot deleted it (the echo of retract()).
 */
export function retractOf(d: GroupMessageDelete): InboundMessage {
  return {
    id: `${d.groupId}:delete:${d.messageId}`,
    group: d.groupId,
    senderId: d.operatorId ?? "",
    senderName: d.operatorId ?? "",
    text: "",
    kind: "retract",
    ref: messageKey(d.groupId, d.messageId),
    time: new Date(d.time * 1000),
    ...(d.own ? { own: true } : {}),
  };
}
