// What an inbound message is, besides its text: a reply, an edit, a retraction, media. The message
// names the other message by the id of its own side; the id map turns that into the other
// message's source key, which is what the outbox items carry (rich-items.ts) and what the targets
// resolve to their own ids when they send (rich-send.ts).
//
// An edit of a message the map does not know (older than the map, said before the bridge ran) is
// relayed as a "(correction)" message; a reply to one as a plain message (a room's reply keeps its
// quote); a retraction of one is dropped (there is nothing of ours to retract).
import { createHash } from "node:crypto";
import type { InboundMessage } from "../network.ts";
import { excerptOf, type IdMap } from "../store/id-map.ts";
import type { RoomMessage } from "../xmpp/types.ts";
import { CORRECTION_MARK, fileOf, quoteOf } from "./format.ts";
import type { Rich } from "./rich-items.ts";
import { groupTargetKey, roomTargetKey } from "./target.ts";

export type TakenIn = { key: string; text: string; rich: Rich } | { skip: string };

/**
 * A network message. `text` is its text with its attachments; `key` the dedupe key the relay uses
 * for a plain message (an edit or a retraction gets its own: a network may give it the id of the
 * message it changes).
 */
export function fromNetwork(networkId: string, msg: InboundMessage, text: string, key: string, ids: IdMap): TakenIn {
  const side = groupTargetKey(networkId, msg.group);
  const kind = msg.kind ?? "message";
  const ref = msg.ref !== undefined ? ids.sourceOf(side, { id: msg.ref }) : undefined;
  if (kind === "retract") {
    if (!ref) return { skip: "a retraction of a message the bridge does not know" };
    return { key: `${key}:retract:${msg.ref}`, text: "", rich: { kind: "retract", ref } };
  }
  if (kind === "edit") {
    const editKey = `${key}:edit:${shortHash(text)}`;
    // The edit's ids are not recorded: they may be the original's (Telegram keeps the message id).
    return ref ? { key: editKey, text, rich: { kind: "edit", ref } } : { key: editKey, text: `${CORRECTION_MARK} ${text}`, rich: {} };
  }
  const rich: Rich = { ids: { side, id: msg.id, author: msg.senderName, excerpt: excerptOf(text) } };
  let shown = text;
  const replied = msg.replyTo !== undefined ? ids.sourceOf(side, { id: msg.replyTo }) : undefined;
  if (replied) {
    const origin = ids.origin(replied);
    rich.replyTo = replied;
    if (origin?.author) rich.quote = quoteOf(origin.author, origin.excerpt ?? "");
    // QQ puts an @ of the bot in a reply to a relayed message: the person meant is the XMPP author.
    if (msg.mentionsSelf && origin?.author && origin.side.startsWith("xmpp:")) shown = `@${origin.author} ${text}`;
  }
  if (msg.media?.length) rich.media = msg.media.map((m) => ({ ...m, network: networkId }));
  return { key, text: shown, rich };
}

/** A room message (not ours). */
export function fromRoom(m: RoomMessage, ids: IdMap): TakenIn | { text: string; rich: Rich } {
  const side = roomTargetKey(m.room);
  if (m.retracts !== undefined) {
    // Current clients name the message by its stanza-id, older ones by its origin-id.
    const ref = ids.sourceOf(side, { id: m.retracts }) ?? ids.sourceOf(side, { originId: m.retracts });
    if (!ref) return { skip: "a retraction of a message the bridge does not know" };
    const origin = ids.origin(ref);
    // XEP-0424: only the author retracts a message; a moderator's retraction comes from the room.
    if (!m.moderated && !(origin?.side === side && origin.author === m.nick)) return { skip: "a retraction by someone who is not the message's author" };
    return { key: "", text: "", rich: { kind: "retract", ref } };
  }
  const text = m.replyTo && m.bodyWithoutFallback !== undefined ? m.bodyWithoutFallback : m.body;
  const own = { side, id: m.stanzaId, originId: m.originId, msgId: m.id, author: m.nick, excerpt: excerptOf(text) };
  if (m.replaces !== undefined) {
    // XEP-0308 names the original by its id attribute or origin-id, and only its author corrects it.
    const ref = ids.sourceOf(side, { originId: m.replaces }) ?? ids.sourceOf(side, { msgId: m.replaces, author: m.nick });
    const origin = ref ? ids.origin(ref) : undefined;
    if (ref && origin?.author === m.nick) return { text, rich: { kind: "edit", ref } };
    return { text: `${CORRECTION_MARK} ${text}`, rich: { ids: own } };
  }
  const rich: Rich = { ids: own };
  let shown = text;
  const replied = m.replyTo ? ids.sourceOf(side, { id: m.replyTo.id }) : undefined;
  if (replied) {
    rich.replyTo = replied;
    rich.withFallback = m.body;
  } else {
    shown = m.body; // the client's quote is all that says what it replies to
  }
  const file = fileOf(m.body, m.oob);
  if (file) rich.file = file;
  return { text: shown, rich };
}

function shortHash(s: string): string {
  return createHash("sha256").update(s).digest("base64url").slice(0, 12);
}
