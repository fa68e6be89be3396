// Rich parts of a groupchat message, read and written: replies (XEP-0461) with their quoted
// fallback (XEP-0428, ranges in code points per XEP-0426), corrections (XEP-0308), retractions
// (XEP-0424, and XEP-0425 moderation by the room) and files (XEP-0066 OOB). No state here.
import { xml, type XmlElement } from "./xmpp-js.ts";
import type { RoomMessage } from "./types.ts";

export const NS_CORRECT = "urn:xmpp:message-correct:0";
export const NS_REPLY = "urn:xmpp:reply:0";
export const NS_FALLBACK = "urn:xmpp:fallback:0";
/** XEP-0428 before 0.2 (still sent by some clients). */
const NS_FALLBACK_OLD = "urn:xmpp:feature-fallback:0";
export const NS_RETRACT = "urn:xmpp:message-retract:1";
/** XEP-0424 before 0.4, wrapped in XEP-0422 <apply-to/> (Prosody-era clients and moderation modules). */
const NS_RETRACT_OLD = "urn:xmpp:message-retract:0";
const NS_FASTEN = "urn:xmpp:fasten:0";
const NS_MODERATE = "urn:xmpp:message-moderate:1";
const NS_MODERATE_OLD = "urn:xmpp:message-moderate:0";
export const NS_OOB = "jabber:x:oob";
const NS_HINTS = "urn:xmpp:hints";

/** A quote longer than this (code points) is cut with "…": the fallback is for clients that cannot show the reply. */
const MAX_QUOTE = 200;

/** The rich parts of a room message, as RoomMessage declares them. */
export type RichParts = Pick<RoomMessage, "replaces" | "replyTo" | "bodyWithoutFallback" | "retracts" | "moderated" | "oob">;

/**
 * Reads the rich parts of a groupchat message. `fromRoom`: the room itself sent it (bare room
 * JID): only then is a retraction a moderation (XEP-0425); an occupant cannot moderate.
 */
export function parseRich(stanza: XmlElement, body: string, fromRoom: boolean): RichParts {
  const parts: RichParts = {};
  const replaces = stanza.getChild("replace", NS_CORRECT)?.attrs.id;
  if (replaces) parts.replaces = replaces;

  const reply = stanza.getChild("reply", NS_REPLY);
  if (reply?.attrs.id) {
    parts.replyTo = { id: reply.attrs.id, ...(reply.attrs.to ? { to: reply.attrs.to } : {}) };
    parts.bodyWithoutFallback = cutFallback(stanza, body, NS_REPLY);
  }

  const retraction = readRetraction(stanza, fromRoom);
  if (retraction) {
    parts.retracts = retraction.id;
    if (retraction.moderated) parts.moderated = retraction.moderated;
  }

  const oob = stanza.getChild("x", NS_OOB);
  const url = oob?.getChildText("url")?.trim();
  if (url && isHttpUrl(url)) {
    const desc = oob!.getChildText("desc")?.trim();
    parts.oob = { url, ...(desc ? { desc } : {}) };
  }
  return parts;
}

function readRetraction(stanza: XmlElement, fromRoom: boolean): { id: string; moderated?: RichParts["moderated"] } | undefined {
  // XEP-0424 ≥ 0.4 / XEP-0425 ≥ 0.3: <retract id=…><moderated by=…/><reason/></retract>
  const retract = stanza.getChild("retract", NS_RETRACT);
  if (retract?.attrs.id) {
    const moderated = retract.getChild("moderated", NS_MODERATE);
    return { id: retract.attrs.id, ...(fromRoom && moderated ? { moderated: moderation(moderated.attrs.by, retract.getChildText("reason")) } : {}) };
  }
  // Older: <apply-to id=… xmlns=fasten:0> holding <retract xmlns=retract:0/> (own) or
  // <moderated xmlns=moderate:0><retract/><reason/></moderated> (moderation).
  const applyTo = stanza.getChild("apply-to", NS_FASTEN);
  if (!applyTo?.attrs.id) return undefined;
  const moderated = applyTo.getChild("moderated", NS_MODERATE_OLD);
  if (moderated?.getChild("retract", NS_RETRACT_OLD)) {
    return { id: applyTo.attrs.id, ...(fromRoom ? { moderated: moderation(moderated.attrs.by, moderated.getChildText("reason")) } : {}) };
  }
  if (applyTo.getChild("retract", NS_RETRACT_OLD)) return { id: applyTo.attrs.id };
  return undefined;
}

function moderation(by: string | undefined, reason: string | null): NonNullable<RichParts["moderated"]> {
  const text = reason?.trim();
  return { ...(by ? { by } : {}), ...(text ? { reason: text } : {}) };
}

/** True when the message is a moderation notice from the room (bare JID): the one room-sent message we read. */
export function isModeration(stanza: XmlElement): boolean {
  return readRetraction(stanza, true)?.moderated !== undefined;
}

/**
 * The body without the XEP-0428 fallback ranges marked for `feature`. A range is [start, end) in
 * Unicode code points (XEP-0426); a <body/> without start/end marks the whole body. A range that
 * is not two integers with 0 ≤ start ≤ end ≤ length is ignored: a lying peer can make us keep a
 * quote, never lose the text.
 */
export function cutFallback(stanza: XmlElement, body: string, feature: string): string {
  const chars = Array.from(body);
  const ranges: [number, number][] = [];
  for (const fallback of [...stanza.getChildren("fallback", NS_FALLBACK), ...stanza.getChildren("fallback", NS_FALLBACK_OLD)]) {
    if (fallback.attrs.for !== feature) continue;
    for (const range of fallback.getChildren("body")) {
      const { start, end } = range.attrs;
      if (start === undefined && end === undefined) {
        ranges.push([0, chars.length]);
        continue;
      }
      const s = codePointOffset(start);
      const e = codePointOffset(end);
      if (s !== undefined && e !== undefined && s <= e && e <= chars.length) ranges.push([s, e]);
    }
  }
  if (ranges.length === 0) return body;
  const cut = new Array<boolean>(chars.length).fill(false);
  for (const [s, e] of ranges) cut.fill(true, s, e);
  return chars.filter((_, i) => !cut[i]).join("");
}

function codePointOffset(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,9}$/.test(value)) return undefined;
  return Number(value);
}

/** Whether text is an http(s) URL (OOB URLs and upload slots take no other scheme). */
export function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

/** What a sent message carries besides its body (RoomSendOptions, resolved by the client). */
export interface OutgoingRich {
  /** XEP-0461: the replied message's id (room stanza-id) and author (occupant JID). */
  replyTo?: { id: string; to?: string };
  /** Code points at the start of the body that are the reply's quoted fallback. */
  fallbackLength?: number;
  replaces?: string;
  oob?: string;
}

/**
 * The quoted fallback put before a reply's body for clients without XEP-0461: each line of the
 * quote prefixed "> ", then a newline. Long quotes are cut.
 */
export function quoteFallback(quote: string): string {
  const chars = Array.from(quote.trim());
  const short = chars.length > MAX_QUOTE ? `${chars.slice(0, MAX_QUOTE - 1).join("")}…` : chars.join("");
  return `${short
    .split("\n")
    .map((line) => `> ${line}`)
    .join("\n")}\n`;
}

/** The rich elements of a sent message (its first part, when split). */
export function richElements(rich: OutgoingRich): XmlElement[] {
  const out: XmlElement[] = [];
  if (rich.replaces) out.push(xml("replace", { xmlns: NS_CORRECT, id: rich.replaces }));
  if (rich.replyTo) {
    out.push(xml("reply", { xmlns: NS_REPLY, id: rich.replyTo.id, ...(rich.replyTo.to ? { to: rich.replyTo.to } : {}) }));
    if (rich.fallbackLength) {
      out.push(xml("fallback", { xmlns: NS_FALLBACK, for: NS_REPLY }, xml("body", { start: "0", end: String(rich.fallbackLength) })));
    }
  }
  if (rich.oob) out.push(xml("x", { xmlns: NS_OOB }, xml("url", {}, rich.oob)));
  return out;
}

/** The fallback body of a retraction, for clients without XEP-0424. */
export const RETRACTION_FALLBACK = "/me retracted a previous message, but it's unsupported by your client.";

/**
 * The elements of a XEP-0424 retraction. In a groupchat the current XEP (0.4) names the message
 * by the stanza-id the room gave it; the older form (urn:xmpp:message-retract:0 in XEP-0422
 * apply-to) names it by its origin-id and is added when that is known, for older clients.
 */
export function retractionElements(target: { stanzaId?: string; originId?: string }): XmlElement[] {
  const out: XmlElement[] = [];
  if (target.stanzaId) out.push(xml("retract", { xmlns: NS_RETRACT, id: target.stanzaId }));
  if (target.originId) out.push(xml("apply-to", { xmlns: NS_FASTEN, id: target.originId }, xml("retract", { xmlns: NS_RETRACT_OLD })));
  out.push(xml("fallback", { xmlns: NS_FALLBACK, for: NS_RETRACT }), xml("store", { xmlns: NS_HINTS }));
  return out;
}
