// Which get_latest_events entries the bridge hands to the relay (protocols.md §3 "Events"). Pure
// and total: any JSON value gets a verdict, never a throw (fuzzed in fuzz.test.ts).
import type { BotSelf } from "./action.ts";
import { firstIssue, GroupMessageDeleteSchema, GroupMessageSchema } from "./schema.ts";

export interface GroupMessageEvent {
  groupId: string;
  userId: string;
  messageId: string;
  /** Seconds (the spec's float64). */
  time: number;
  message: unknown;
  altMessage: string | undefined;
  /** Sent by our own bot: the echo of one of our sends (evidence for the relay, never relayed). */
  own: boolean;
}

/** A message of a group deleted (recalled by its sender, or by an admin). */
export interface GroupMessageDelete {
  groupId: string;
  /** The deleted message's id. */
  messageId: string;
  operatorId: string | undefined;
  time: number;
  /** Deleted by our own bot (the echo of our retract()). */
  own: boolean;
}

export type EventVerdict =
  | { kind: "relay"; event: GroupMessageEvent }
  | { kind: "delete"; event: GroupMessageDelete }
  | { kind: "skip"; reason: string }
  /** A group message of the wrong shape: logged with its id, counted and skipped. */
  | { kind: "reject"; id: string | undefined; reason: string };

/**
 * Sorts one event. Handed on: group messages of a configured group for our bot (our own as
 * `own`). Meta events are skipped (go-cqhttp's v12 mode queues heartbeats despite the spec).
 */
export function classifyEvent(raw: unknown, groups: ReadonlySet<string>, self: BotSelf | null): EventVerdict {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { kind: "reject", id: undefined, reason: "not an event object" };
  const e = raw as Record<string, unknown>;
  if (e.type === "meta") return { kind: "skip", reason: "meta event" };
  if (e.type === "notice" && e.detail_type === "group_message_delete") return classifyDelete(e, groups, self);
  if (e.type !== "message" || e.detail_type !== "group") return { kind: "skip", reason: `${label(e.type)}.${label(e.detail_type)}` };
  const parsed = GroupMessageSchema.safeParse(raw);
  if (!parsed.success) return { kind: "reject", id: typeof e.id === "string" ? e.id : undefined, reason: firstIssue(parsed.error) };
  const m = parsed.data;
  if (!groups.has(m.group_id)) return { kind: "skip", reason: "group not configured" };
  const selfId = m.self?.user_id ?? self?.user_id;
  // Another bot on the same connection: its own bridge (if any) relays it.
  // (A platform of "" means get_self_info named the bot without one: only the user id compares.)
  const otherId = m.self !== undefined && m.self.user_id !== self?.user_id;
  const otherPlatform = self?.platform !== "" && m.self !== undefined && m.self.platform !== self?.platform;
  if (self !== null && (otherId || otherPlatform)) return { kind: "skip", reason: "event of another bot" };
  const time = m.time !== undefined && Number.isFinite(m.time * 1000) && Math.abs(m.time) < 8.64e12 ? m.time : Date.now() / 1000;
  return {
    kind: "relay",
    event: { groupId: m.group_id, userId: m.user_id, messageId: m.message_id, time, message: m.message, altMessage: m.alt_message, own: selfId !== undefined && m.user_id === selfId },
  };
}

/** notice.group_message_delete of a configured group for our bot; one without a message_id is rejected. */
function classifyDelete(e: Record<string, unknown>, groups: ReadonlySet<string>, self: BotSelf | null): EventVerdict {
  const parsed = GroupMessageDeleteSchema.safeParse(e);
  if (!parsed.success) return { kind: "reject", id: typeof e.id === "string" ? e.id : undefined, reason: `group_message_delete: ${firstIssue(parsed.error)}` };
  const d = parsed.data;
  if (!groups.has(d.group_id)) return { kind: "skip", reason: "group not configured" };
  if (self !== null && d.self !== undefined && (d.self.user_id !== self.user_id || (self.platform !== "" && d.self.platform !== self.platform))) return { kind: "skip", reason: "event of another bot" };
  const selfId = d.self?.user_id ?? self?.user_id;
  const time = d.time !== undefined && Number.isFinite(d.time * 1000) && Math.abs(d.time) < 8.64e12 ? d.time : Date.now() / 1000;
  return { kind: "delete", event: { groupId: d.group_id, messageId: d.message_id, operatorId: d.operator_id, time, own: selfId !== undefined && d.operator_id === selfId } };
}

/** A field's value for a log line; never throws (a hostile `{"toString":0}` is an object). */
function label(v: unknown): string {
  return typeof v === "string" ? v.slice(0, 40) : typeof v;
}
