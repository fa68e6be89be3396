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
  /** Resolves when the room reflected the message (our origin-id came back). */
  send(room: string, body: string, opts?: { originId?: string; timeout?: number }): Promise<{ originIds: string[] }>;
  rooms(): RoomState[];
}

export type { RoomMessage, RoomState };
