// Which get_latest_events entries the bridge relays (protocols.md §3 "Events"). Pure.
import type { BotSelf } from "./action.ts";

export interface GroupMessageEvent {
  groupId: string;
  userId: string;
  messageId: string;
  /** Seconds (the spec's float64). */
  time: number;
  message: unknown;
  altMessage: unknown;
}

export type EventVerdict =
  | { kind: "relay"; event: GroupMessageEvent }
  | { kind: "skip"; reason: string };

function id(v: unknown): string | undefined {
  // Ids are strings in v12; a number from a lax implementation is still the same id.
  return typeof v === "string" && v !== "" ? v : typeof v === "number" && Number.isFinite(v) ? String(v) : undefined;
}

/**
 * Sorts one event. Relayed: group messages of a configured group, for our bot, not sent by it.
 * Meta events are skipped (go-cqhttp's v12 mode queues heartbeats despite the spec).
 */
export function classifyEvent(raw: unknown, groups: ReadonlySet<string>, self: BotSelf | null): EventVerdict {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { kind: "skip", reason: "not an object" };
  const e = raw as Record<string, unknown>;
  if (e.type === "meta") return { kind: "skip", reason: "meta event" };
  if (e.type !== "message" || e.detail_type !== "group") return { kind: "skip", reason: `${String(e.type)}.${String(e.detail_type)}` };
  const groupId = id(e.group_id);
  const userId = id(e.user_id);
  const messageId = id(e.message_id);
  if (groupId === undefined || userId === undefined || messageId === undefined) return { kind: "skip", reason: "group message without group_id/user_id/message_id" };
  if (!groups.has(groupId)) return { kind: "skip", reason: "group not configured" };
  const eventSelf = e.self as { user_id?: unknown; platform?: unknown } | undefined;
  const selfId = id(eventSelf?.user_id) ?? self?.user_id;
  // Another bot on the same connection: its own bridge (if any) relays it.
  // (A platform of "" means get_self_info named the bot without one: only the user id compares.)
  const otherId = id(eventSelf?.user_id) !== undefined && id(eventSelf?.user_id) !== self?.user_id;
  const otherPlatform = self?.platform !== "" && typeof eventSelf?.platform === "string" && eventSelf.platform !== self?.platform;
  if (self !== null && (otherId || otherPlatform)) return { kind: "skip", reason: "event of another bot" };
  if (selfId !== undefined && userId === selfId) return { kind: "skip", reason: "our own message" };
  const time = typeof e.time === "number" && Number.isFinite(e.time) ? e.time : Date.now() / 1000;
  return { kind: "relay", event: { groupId, userId, messageId, time, message: e.message, altMessage: e.alt_message } };
}
