// An XMPP room as a relay target. Sends only while joined (after the join history), with the
// item's deterministic origin-id; the room's reflection is the confirmation. A send that failed
// without a reflection may still have reached the room, so it is resent only after a later join,
// whose history (requested since the attempt) would have shown the reflection. The room's join
// state, catch-up bounds and confirmations live in its session (room-session.ts).
import type { OutboxItem } from "../store/outbox.ts";
import { RoomSendError } from "../xmpp/send-error.ts";
import type { RoomLink } from "./room-link.ts";
import { RoomSession, type RoomSessionOptions } from "./room-session.ts";
import { errorText, roomTargetKey, type SendOutcome, type Target, type Verdict } from "./target.ts";

export interface RoomTargetOptions extends Omit<RoomSessionOptions, "targetKey"> {
  link: RoomLink;
  maxLength: number;
  /** How long a send waits for its reflection (passed to RoomLink.send). */
  sendTimeout?: number;
}

export class RoomTarget implements Target {
  readonly key: string;
  readonly maxLength: number;
  readonly room: string;
  readonly session: RoomSession;
  readonly #link: RoomLink;
  readonly #sendTimeout: number | undefined;

  constructor(opts: RoomTargetOptions) {
    this.room = opts.room;
    this.key = roomTargetKey(opts.room);
    this.maxLength = opts.maxLength;
    this.#link = opts.link;
    this.#sendTimeout = opts.sendTimeout;
    this.session = new RoomSession({ ...opts, targetKey: this.key });
  }

  ready(): boolean {
    return this.session.ready();
  }

  onChange(listener: () => void): void {
    this.session.onChange(listener);
  }

  /** A later join's history (asked since the oldest attempt) would have confirmed it: not there, so send. */
  async check(item: OutboxItem): Promise<Verdict> {
    return this.session.joinedSinceAttempt(item.id) ? { kind: "send" } : { kind: "wait" };
  }

  async send(item: OutboxItem): Promise<SendOutcome> {
    this.session.attempting(item.id);
    try {
      await this.#link.send(this.room, item.text, { originId: item.originId, timeout: this.#sendTimeout });
      this.session.attemptSettled(item.id);
      return { kind: "delivered" };
    } catch (err) {
      const error = errorText(err);
      if (err instanceof RoomSendError && err.reason === "empty") return { kind: "fatal", error };
      // Refused before it went out, or refused by the room with an error stanza: not in the room.
      if (err instanceof RoomSendError && err.notSent) {
        this.session.attemptSettled(item.id);
        return { kind: "retry", error };
      }
      // No reflection while the room stayed joined (a lost or late reflection): no later join
      // would ever come on its own, and the queue behind this item waits for its verdict.
      if (this.ready()) this.session.recheck();
      return { kind: "unconfirmed", error };
    }
  }

  describe(): { ok: boolean; state: string; detail?: string } {
    return this.session.describe();
  }
}
