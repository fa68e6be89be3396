// What the relay needs from the XMPP side. MucClient (bridge/xmpp/muc-client.ts) satisfies it
// structurally; tests can also plug in an in-memory room.
import type { RoomMessage, RoomOptions, RoomState, XmppEvents } from "../xmpp/types.ts";

export interface RoomLink {
  on<K extends keyof XmppEvents>(event: K, listener: (...args: XmppEvents[K]) => void): unknown;
  off<K extends keyof XmppEvents>(event: K, listener: (...args: XmppEvents[K]) => void): unknown;
  /** Joins now (when online) and again on every `online`; history is asked at each join. */
  join(room: string, opts?: RoomOptions): void;
  /** Leaves the room and forgets it until the next join(). */
  leave(room: string): Promise<void>;
  /**
   * Resolves when the room reflected the message (our origin-id came back), with the stanza-ids
   * the room gave the parts (XEP-0359; only where the room archives, e.g. mod_muc_mam).
   */
  send(room: string, body: string, opts?: RoomSendOptions): Promise<{ originIds: string[]; stanzaIds?: (string | undefined)[] }>;
  /** XEP-0424: retracts a message we sent (by its origin-id); resolves once written. */
  retract?(room: string, originId: string): Promise<void>;
  /** XEP-0363: uploads a file and resolves with its GET URL; throws when the server has no upload service or refuses it. */
  upload?(file: { data: Uint8Array; name: string; mime: string }): Promise<string>;
  rooms(): RoomState[];
}

export interface RoomSendOptions {
  originId?: string;
  timeout?: number;
  /** XEP-0461 reply to (room stanza-id, author's occupant JID); `fallback` is the quoted text, marked per XEP-0428. */
  replyTo?: { id: string; to?: string; fallback?: string };
  /** XEP-0308: corrects our message with this id (its origin-id). */
  replaces?: string;
  /** XEP-0066: the message is this file; the body must be exactly the URL for clients to show it inline. */
  oob?: string;
}

export type { RoomMessage, RoomState };
