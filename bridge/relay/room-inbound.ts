// What the rooms say, as the relay takes it in from the room link's "message" events.
//
// Loops are prevented by identity, never by nick text: a room message flagged `own` by the XMPP
// client or carrying an origin-id of ours is a reflection; one of our origin-ids confirms its
// send (RoomSession.reflected) and is never relayed.
//
// Delayed messages (catch-up history) are relayed once (deduplicated by stanza-id, origin-id or
// id) and marked with their original time: "[2026-11-22 10:03 UTC] <nick> text". Delayed is not
// history: a resumed stream (XEP-0198) redelivers what the server queued during the cut with a
// <delay/> stamp, and a message seen for the first time is relayed whatever its stamp.
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Outbox } from "../store/outbox.ts";
import type { RoomMessage } from "../xmpp/types.ts";
import type { Intake } from "./intake.ts";
import { fromRoom } from "./rich-inbound.ts";
import { isOurReflection } from "./room-session.ts";
import type { Confirm } from "./settlement.ts";
import type { Router } from "./router.ts";

export interface RoomInboundDeps {
  router: Router;
  outbox: Outbox;
  intake: Intake;
  confirm: Confirm;
  logger: Logger;
}

export class RoomInbound {
  readonly #d: RoomInboundDeps;
  #stopped = false;

  /** The link's "message" listener. */
  readonly onMessage = (m: RoomMessage): void => {
    try {
      this.#take(m);
    } catch (err) {
      // Not committed (disk full, database locked): the room cannot be asked to redeliver it, so
      // the loss is logged loudly with the message's id rather than thrown into the XMPP client.
      this.#d.logger.error({ err, room: m.room, id: m.stanzaId ?? m.originId ?? m.id }, "could not store a room message");
    }
  };

  constructor(deps: RoomInboundDeps) {
    this.#d = deps;
  }

  /** Stops taking messages in (the next join's catch-up recovers them); reflections still confirm sends. */
  stop(): void {
    this.#stopped = true;
  }

  #take(m: RoomMessage): void {
    const session = this.#d.router.rooms.get(m.room)?.session;
    if (m.originId) {
      const ours = session ? session.reflected(m.originId, m.stanzaId) : isOurReflection(m.originId, this.#d.confirm, this.#d.outbox, m.stanzaId);
      if (ours) return;
    }
    if (this.#stopped || !session) return;
    if (m.own) {
      if (!m.delayed) session.seenOwn(m.time);
      return;
    }
    if (m.body.trim() === "" && m.retracts === undefined) return;
    const time = m.delayed ?? m.time;
    const taken = fromRoom(m, this.#d.outbox.ids);
    if ("skip" in taken) {
      this.#d.logger.debug({ room: m.room, nick: m.nick, retracts: m.retracts }, `${taken.skip}: nothing to relay`);
      this.#d.outbox.setLastSeen(m.room, time);
      return;
    }
    this.#d.intake.accept(
      `xmpp:${m.room}:${roomMessageId(m)}`,
      { kind: "room", room: m.room },
      { nick: m.nick, text: taken.text, network: "xmpp", group: m.room, time, late: m.delayed !== undefined },
      { room: m.room, time },
      taken.rich,
    );
  }
}

/** Identity of a room message, stable between its live delivery and its history replay. */
function roomMessageId(m: RoomMessage): string {
  if (m.stanzaId) return `sid:${m.stanzaId}`;
  if (m.originId) return `oid:${m.originId}`;
  if (m.id) return `id:${m.nick}:${m.id}`;
  const h = createHash("sha256").update(`${m.nick}\n${m.body}\n${(m.delayed ?? m.time).toISOString()}`).digest("base64url");
  return `h:${h.slice(0, 22)}`;
}
