// Who wrote the room's recent messages, so that a correction (XEP-0308 §5) or a retraction
// (XEP-0424 §6) from anyone but the original's author is not taken: any occupant can send
// <replace id=…/> or <retract id=…/> naming someone else's message, or one the bridge relayed.
// Bounded: a message older than the last `limit` seen is not known, and not checked here.
import type { RoomMessage } from "./types.ts";

type Author = Pick<RoomMessage, "jid" | "occupantId" | "nick">;

/**
 * Whether two messages have the same author, on the best identity both carry: the XEP-0421
 * occupant-id (assigned by the room, which strips forged ones), else the real JID, else the nick.
 * A message replayed from history may lack the JID that a live one has, so each is compared only
 * when both sides have it.
 */
export function sameAuthor(a: Author, b: Author): boolean {
  if (a.occupantId && b.occupantId) return a.occupantId === b.occupantId;
  if (a.jid && b.jid) return a.jid.toLowerCase() === b.jid.toLowerCase();
  return a.nick === b.nick;
}

export class MessageAuthors {
  readonly #limit: number;
  /** `${room}\n${id}` → author, in insertion order (oldest first) for the bound. */
  readonly #byId = new Map<string, Author>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Records the author under each id the message can be named by (id, origin-id, stanza-id). */
  remember(room: string, msg: RoomMessage): void {
    const author: Author = { nick: msg.nick, ...(msg.jid ? { jid: msg.jid } : {}), ...(msg.occupantId ? { occupantId: msg.occupantId } : {}) };
    for (const id of new Set([msg.id, msg.originId, msg.stanzaId])) {
      if (id === undefined) continue;
      const key = `${room}\n${id}`;
      if (this.#byId.has(key)) continue; // the first author of an id is its author
      this.#byId.set(key, author);
      if (this.#byId.size > this.#limit) this.#byId.delete(this.#byId.keys().next().value!);
    }
  }

  /** The id a correction or own retraction names, when its known author is someone else; else undefined. */
  forgedTarget(room: string, msg: RoomMessage): string | undefined {
    const target = msg.moderated ? undefined : (msg.retracts ?? msg.replaces);
    if (target === undefined) return undefined;
    const author = this.#byId.get(`${room}\n${target}`);
    return author !== undefined && !sameAuthor(author, msg) ? target : undefined;
  }
}
