// What the relay needs from the XMPP side. MucClient (bridge/xmpp/muc-client.ts) satisfies it
// structurally; tests can also plug in an in-memory room.
import type { RetractTarget, RoomMessage, RoomOptions, RoomSendOptions, RoomSendResult, RoomState, XmppEvents } from "../xmpp/types.ts";

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
  /**
   * XEP-0424: retracts a message we sent. In a room the XEP names it by the stanza-id the room
   * gave it; with its origin-id too, the older form (retract:0) is added for older clients.
   * Resolves when the room reflected the retraction (errors as send()).
   */
  retract?(room: string, target: RetractTarget, opts?: { originId?: string; timeout?: number }): Promise<RoomSendResult>;
  /** XEP-0363: uploads a file and resolves with its GET URL; throws when the server has no upload service or refuses it. */
  upload?(file: { data: Uint8Array; name: string; mime: string }): Promise<string>;
  rooms(): RoomState[];
}

export type { RetractTarget, RoomMessage, RoomSendOptions, RoomSendResult, RoomState };
