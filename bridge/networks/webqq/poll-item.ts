// One element of a poll2 answer's `result` → a group message, an item that is not ours to relay,
// or a rejection (wrong shape: logged once with its id, counted, skipped). Pure; never throws.
import { contentToText } from "./content.ts";
import { firstIssue, GroupMessageValue, PollItem } from "./schemas.ts";
import { readableText } from "../shared/readable.ts";

export type ParsedPollItem =
  | { kind: "group-message"; gid: number; sendUin: number; msgId: number; time: number | undefined; text: string }
  | { kind: "other"; pollType: string } // friend messages, status changes, kicks...: not relayed
  | { kind: "rejected"; id: string; reason: string };


/** The item's id for a log line, whatever its shape ("?" when it has none). */
function itemId(item: unknown): string {
  const v = (item as { value?: unknown } | null)?.value;
  const id = typeof v === "object" && v !== null ? (v as { msg_id?: unknown }).msg_id : undefined;
  return typeof id === "number" || typeof id === "string" ? String(id).slice(0, 40) : "?";
}

export function parsePollItem(item: unknown): ParsedPollItem {
  const outer = PollItem.safeParse(item);
  if (!outer.success) return { kind: "rejected", id: itemId(item), reason: `poll item: ${firstIssue(outer.error)}` };
  if (outer.data.poll_type !== "group_message") return { kind: "other", pollType: outer.data.poll_type.slice(0, 40) };
  const value = GroupMessageValue.safeParse(outer.data.value);
  if (!value.success) return { kind: "rejected", id: itemId(item), reason: `group_message: ${firstIssue(value.error)}` };
  const v = value.data;
  const text = contentToText(v.content);
  return {
    kind: "group-message",
    gid: v.from_uin,
    sendUin: v.send_uin,
    msgId: v.msg_id,
    time: v.time,
    text: readableText(text),
  };
}
