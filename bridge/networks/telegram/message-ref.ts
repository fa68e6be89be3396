// Our message ids ("<group>:<message_id>", inbound.ts messageKey) read back into what the Bot API
// takes: the chat and the message_id. Message ids are unique within a chat, so any configured
// group of the same chat (the whole chat or one of its topics) names the same message.
import type { GroupIndex, GroupTarget } from "./groups.ts";

export interface MessageRef {
  chatId: string;
  messageId: number;
}

/** The message `id` names, when it is a message of `target`'s chat; undefined otherwise. */
export function readMessageRef(groups: GroupIndex, target: GroupTarget, id: string): MessageRef | undefined {
  const at = id.lastIndexOf(":");
  if (at <= 0) return undefined;
  const num = id.slice(at + 1);
  if (!/^\d{1,15}$/.test(num)) return undefined;
  const of = groups.get(id.slice(0, at));
  if (!of || of.chatId.toLowerCase() !== target.chatId.toLowerCase()) return undefined;
  return { chatId: target.chatId, messageId: Number(num) };
}
