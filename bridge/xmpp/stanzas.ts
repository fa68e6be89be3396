// MUC stanzas (XEP-0045, XEP-0359, XEP-0203, XEP-0410): what we send and how we read what the
// room sends; the rich parts of a message (replies, corrections, retractions, files) are in
// rich.ts. No state here.
import { isModeration, parseRich } from "./rich.ts";
import type { History, RoomMessage } from "./types.ts";
import { xml, type XmlElement } from "./xmpp-js.ts";

export { NS_CORRECT } from "./rich.ts";

export const NS_MUC = "http://jabber.org/protocol/muc";
export const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
export const NS_SID = "urn:xmpp:sid:0";
export const NS_DELAY = "urn:xmpp:delay";
export const NS_PING = "urn:xmpp:ping";
export const NS_OCCUPANT_ID = "urn:xmpp:occupant-id:0";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** "room@service/nick" → ["room@service", "nick"]; the resource may itself contain "/". */
export function splitJid(full: string): [bare: string, resource: string | undefined] {
  const slash = full.indexOf("/");
  return slash < 0 ? [full, undefined] : [full.slice(0, slash), full.slice(slash + 1)];
}

/** Bare JIDs compare case-insensitively in their local and domain parts. */
export function bareKey(jid: string): string {
  return splitJid(jid)[0].toLowerCase();
}

/** `id` lets the room's error answer be told apart from bounces of other presences. */
export function joinPresence(room: string, nick: string, history: History, password?: string, id?: string): XmlElement {
  const historyAttrs: Record<string, string> =
    "since" in history ? { since: history.since.toISOString() } : { maxstanzas: String(history.maxstanzas) };
  return xml(
    "presence",
    { to: `${room}/${nick}`, ...(id ? { id } : {}) },
    xml("x", { xmlns: NS_MUC }, xml("history", historyAttrs), password !== undefined && xml("password", {}, password)),
  );
}

export function leavePresence(room: string, nick: string): XmlElement {
  return xml("presence", { to: `${room}/${nick}`, type: "unavailable" });
}

/** Our groupchat message; the stanza id is the origin-id, so a correction may name either (XEP-0308). */
export function groupchat(room: string, body: string, originId: string, extra: XmlElement[] = []): XmlElement {
  return xml(
    "message",
    { to: room, type: "groupchat", id: originId },
    xml("body", {}, body),
    xml("origin-id", { xmlns: NS_SID, id: originId }),
    ...extra,
  );
}

export function selfPing(room: string, nick: string): XmlElement {
  return xml("iq", { type: "get", to: `${room}/${nick}` }, xml("ping", { xmlns: NS_PING }));
}

/** The defined condition of a stanza's <error/>, e.g. "conflict", or undefined. */
export function errorCondition(stanza: XmlElement): string | undefined {
  const error = stanza.getChild("error");
  return error?.getChildElements().find((child) => child.attrs.xmlns === NS_STANZAS)?.name;
}

export interface MucPresence {
  room: string;
  nick: string | undefined;
  type: "available" | "unavailable" | "error";
  /** The stanza id: an error answer carries the id of the presence it answers. */
  id?: string;
  codes: Set<string>;
  /** Real JID when the room shows it (non-anonymous room or we are moderator). */
  jid?: string;
  /** New nick on a nick change (status 303). */
  newNick?: string;
  error?: string;
  /** The error's type attribute: "wait" means try again later. */
  errorType?: string;
  reason?: string;
  /** The room was destroyed (<destroy/> in the unavailable presence). */
  destroyed?: boolean;
}

export function parseMucPresence(stanza: XmlElement): MucPresence | undefined {
  const from = stanza.attrs.from;
  if (!stanza.is("presence") || !from) return undefined;
  const [room, nick] = splitJid(from);
  const type = stanza.attrs.type === "unavailable" ? "unavailable" : stanza.attrs.type === "error" ? "error" : "available";
  const x = stanza.getChild("x", NS_MUC_USER);
  if (!x && type !== "error") return undefined;
  const item = x?.getChild("item");
  return {
    room,
    nick,
    type,
    ...(stanza.attrs.id ? { id: stanza.attrs.id } : {}),
    codes: new Set((x?.getChildren("status") ?? []).map((s) => s.attrs.code ?? "")),
    jid: item?.attrs.jid ? splitJid(item.attrs.jid)[0] : undefined,
    newNick: item?.attrs.nick,
    error: type === "error" ? (errorCondition(stanza) ?? "undefined-condition") : undefined,
    errorType: stanza.getChild("error")?.attrs.type,
    reason: item?.getChildText("reason") ?? undefined,
    destroyed: !!x?.getChild("destroy"),
  };
}

/** A room's subject message (XEP-0045 §7.2.15): ends the history replay of a join. */
export function isSubject(stanza: XmlElement): boolean {
  return stanza.is("message") && stanza.attrs.type === "groupchat" && !!stanza.getChild("subject") && !stanza.getChild("body");
}

/**
 * A groupchat message with a body (or a retraction, whose body is only a fallback), read without
 * deciding ownership (the caller knows our nick). The room itself speaks only status notices,
 * which are not messages, and moderations (XEP-0425), whose nick is the moderator's when given.
 */
export function parseGroupchat(stanza: XmlElement, now: Date): Omit<RoomMessage, "own" | "jid"> | undefined {
  if (!stanza.is("message") || stanza.attrs.type !== "groupchat" || !stanza.attrs.from) return undefined;
  const [room, resource] = splitJid(stanza.attrs.from);
  const fromRoom = resource === undefined;
  if (fromRoom && !isModeration(stanza)) return undefined; // the room's status notices
  const body = stanza.getChildText("body");
  const rich = parseRich(stanza, body ?? "", fromRoom);
  if (body === null && rich.retracts === undefined) return undefined;
  const nick = fromRoom ? (splitJid(rich.moderated?.by ?? "")[1] ?? "") : resource;
  const stamp = stanza.getChild("delay", NS_DELAY)?.attrs.stamp;
  const delayedAt = stamp ? new Date(stamp) : undefined;
  const delayed = delayedAt && !Number.isNaN(delayedAt.getTime()) ? delayedAt : undefined;
  // A stanza-id counts only when the room itself put it there (XEP-0359 §3.1).
  const stanzaId = stanza.getChildren("stanza-id", NS_SID).find((s) => bareKey(s.attrs.by ?? "") === bareKey(room))?.attrs.id;
  const msg: Omit<RoomMessage, "own" | "jid"> = { room, nick, body: body ?? "", time: delayed ?? now };
  if (stanza.attrs.id) msg.id = stanza.attrs.id;
  const originId = stanza.getChild("origin-id", NS_SID)?.attrs.id;
  if (originId) msg.originId = originId;
  if (stanzaId) msg.stanzaId = stanzaId;
  const occupantId = stanza.getChild("occupant-id", NS_OCCUPANT_ID)?.attrs.id;
  if (occupantId && !fromRoom) msg.occupantId = occupantId;
  if (delayed) msg.delayed = delayed;
  return Object.assign(msg, rich);
}

export type SelfPingVerdict = "joined" | "gone" | "unknown";

/** XEP-0410 §3: what an answer (or its absence) to a self-ping says about our membership. */
export function selfPingVerdict(outcome: { result: true } | { error: string | undefined }): SelfPingVerdict {
  if ("result" in outcome) return "joined";
  switch (outcome.error) {
    case "service-unavailable":
    case "feature-not-implemented":
      return "joined"; // the occupant's client answered: we are still in
    case "remote-server-not-found":
    case "remote-server-timeout":
    case undefined: // timeout or transport trouble: try again later
      return "unknown";
    default:
      return "gone"; // not-acceptable, item-not-found, …: the room no longer knows us
  }
}
