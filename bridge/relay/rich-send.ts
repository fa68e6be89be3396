// How an outbox item goes out, decided when it is sent: a reply, an edit or a retraction names
// another message by its source key, and only the id map can say what that message's id is on
// this target. The target's queue is in order, so that message was sent (or failed) before.
// When the target has no id for it (never delivered there, pruned from the map), the item's plain
// form goes instead: the reply's quote in the text, the edit as a "(correction)" message; a
// retraction then has nothing to retract.
//
// `resolved` marks a plan that sends the plain form: the target stores it on the item before
// sending (Outbox.resolve), so evidence (an echo's text, a history lookup) looks for what went out
// and a resend sends the same.
import type { SendOptions } from "../network.ts";
import type { IdMap } from "../store/id-map.ts";
import type { ItemMedia, OutboxItem } from "../store/outbox.ts";
import type { RetractTarget, RoomSendOptions } from "./room-link.ts";
import type { Caps } from "./rich-items.ts";

export type GroupPlan =
  | { op: "send"; text: string; opts?: SendOptions; resolved?: boolean }
  | { op: "edit"; id: string; text: string }
  | { op: "retract"; id: string }
  /** Nothing to do on this target (a retraction of a message it does not have): settled as delivered. */
  | { op: "none"; why: string };

/** The plan for a network group (`key` is its target key). */
export function planGroup(item: OutboxItem, caps: Caps, key: string, ids: IdMap): GroupPlan {
  if (item.kind === "retract") {
    if (!caps.retract) return { op: "none", why: "the network cannot retract messages" };
    const row = item.ref ? ids.on(item.ref, key) : undefined;
    return row?.id ? { op: "retract", id: row.id } : { op: "none", why: "the retracted message has no id in this group" };
  }
  if (item.kind === "edit") {
    // Only our own copies can be edited (seq > 0); a message said here by someone else cannot.
    const row = caps.edit && item.ref ? ids.on(item.ref, key) : undefined;
    if (row?.id && row.seq > 0) return { op: "edit", id: row.id, text: item.text };
    return { op: "send", text: item.fallback ?? item.text, resolved: true };
  }
  const opts: SendOptions = {};
  if (item.media?.url && caps.media) opts.media = { kind: item.media.kind, url: item.media.url, ...(item.media.name ? { name: item.media.name } : {}) };
  if (item.replyTo) {
    const row = caps.reply ? ids.on(item.replyTo, key) : undefined;
    if (!row?.id) return { op: "send", text: item.fallback ?? item.text, ...(opts.media ? { opts } : {}), resolved: true };
    opts.replyTo = row.id;
  }
  return opts.media || opts.replyTo !== undefined ? { op: "send", text: item.text, opts } : { op: "send", text: item.text };
}

/** The plain form of an item whose native form the target refused for good (a reply to a deleted message, an edit too late, a URL it cannot fetch). */
export function plainForm(item: OutboxItem): string | undefined {
  if (item.kind === "retract") return undefined;
  if (item.kind === "edit") return item.fallback ?? undefined;
  if (!item.replyTo && !item.media) return undefined;
  return item.fallback ?? (item.media ? undefined : item.text);
}

export type RoomPlan =
  | { op: "send"; body: string; opts: RoomSendOptions; resolved?: boolean }
  | { op: "retract"; target: RetractTarget }
  /** A picture or file of a network: fetched, uploaded, then posted (RoomTarget). */
  | { op: "upload"; media: ItemMedia }
  | { op: "none"; why: string };

/** The plan for a room (`key` its target key, `ourNick` the nick we hold there). */
export function planRoom(item: OutboxItem, room: string, key: string, ourNick: string | undefined, ids: IdMap, canRetract: boolean): RoomPlan {
  if (item.kind === "retract") {
    // Only our own copies (seq > 0); a room message is retracted by its author or a moderator.
    const row = item.ref ? ids.on(item.ref, key) : undefined;
    if (!row || row.seq === 0 || (!row.id && !row.originId)) return { op: "none", why: "the retracted message is not ours in this room" };
    if (!canRetract) return { op: "none", why: "the XMPP client cannot retract" };
    return { op: "retract", target: { ...(row.id ? { stanzaId: row.id } : {}), ...(row.originId ? { originId: row.originId } : {}) } };
  }
  if (item.kind === "edit") {
    // XEP-0308 names the corrected message by its origin-id (also its id attribute), never its stanza-id.
    const row = item.ref ? ids.on(item.ref, key) : undefined;
    if (row && row.seq > 0 && row.originId) return { op: "send", body: item.text, opts: { replaces: row.originId } };
    return { op: "send", body: item.fallback ?? item.text, opts: {}, resolved: true };
  }
  if (item.media?.url) return { op: "send", body: item.media.url, opts: { oob: item.media.url } };
  if (item.media?.ref) return { op: "upload", media: item.media };
  if (item.replyTo) {
    const row = ids.on(item.replyTo, key);
    if (!row?.id) return { op: "send", body: item.fallback ?? item.text, opts: {}, resolved: true };
    const origin = ids.origin(item.replyTo);
    // The replied message's author in the room: its occupant when it was said here, else us.
    const author = row.seq === 0 ? origin?.author : ourNick;
    return {
      op: "send",
      body: item.text,
      opts: {
        replyTo: {
          id: row.id,
          ...(author ? { to: `${room}/${author}` } : {}),
          ...(origin?.author && origin.excerpt ? { fallback: `${origin.author}: ${origin.excerpt}` } : {}),
        },
      },
    };
  }
  return { op: "send", body: item.text, opts: {} };
}
