// An XMPP room as a relay target. Sends only while joined (after the join history), with the
// item's deterministic origin-id; the room's reflection is the confirmation. A send that failed
// without a reflection may still have reached the room, so it is resent only after a later join,
// whose history (requested since the attempt) would have shown the reflection.
import type { OutboxItem } from "../store/outbox.ts";
import { RoomSendError } from "../xmpp/send-error.ts";
import type { RoomLink, RoomState } from "./room-link.ts";
import { errorText, roomTargetKey, type SendOutcome, type Target, type Verdict } from "./target.ts";

export class RoomTarget implements Target {
  readonly key: string;
  readonly maxLength: number;
  readonly room: string;
  readonly #link: RoomLink;
  readonly #sendTimeout: number | undefined;
  readonly #recheck: () => void;
  readonly #listeners: (() => void)[] = [];
  #state: RoomState | undefined;
  /** Completed joins in this process; an attempt remembers the join it happened under. */
  #joins = 0;
  readonly #attemptJoin = new Map<number, number>();

  /** `recheck` rejoins the room, so that its history shows whether an unconfirmed send got in. */
  constructor(opts: { room: string; link: RoomLink; maxLength: number; sendTimeout?: number; recheck: () => void }) {
    this.room = opts.room;
    this.key = roomTargetKey(opts.room);
    this.maxLength = opts.maxLength;
    this.#link = opts.link;
    this.#sendTimeout = opts.sendTimeout;
    this.#recheck = opts.recheck;
    this.#state = opts.link.rooms().find((r) => r.room === opts.room);
    if (this.#state?.state === "joined") this.#joins = 1;
  }

  /** Fed by the relay from the link's "room" events. */
  update(state: RoomState): void {
    if (state.state === "joined" && this.#state?.state !== "joined") this.#joins += 1;
    this.#state = state;
    for (const l of this.#listeners) l();
  }

  ready(): boolean {
    return this.#state?.state === "joined";
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** A later join's history (asked since the oldest attempt) would have confirmed it: not there, so send. */
  async check(item: OutboxItem): Promise<Verdict> {
    const at = this.#attemptJoin.get(item.id);
    // Attempted by an earlier process: this process's joins all asked for history since then.
    const joinedSince = at === undefined ? this.#joins > 0 : this.#joins > at;
    return joinedSince ? { kind: "send" } : { kind: "wait" };
  }

  async send(item: OutboxItem): Promise<SendOutcome> {
    this.#attemptJoin.set(item.id, this.#joins);
    try {
      await this.#link.send(this.room, item.text, { originId: item.originId, timeout: this.#sendTimeout });
      this.#attemptJoin.delete(item.id);
      return { kind: "delivered" };
    } catch (err) {
      const error = errorText(err);
      if (err instanceof RoomSendError && err.reason === "empty") return { kind: "fatal", error };
      // Refused before it went out, or refused by the room with an error stanza: not in the room.
      if (err instanceof RoomSendError && err.notSent) {
        this.#attemptJoin.delete(item.id);
        return { kind: "retry", error };
      }
      // No reflection while the room stayed joined (a lost or late reflection): no later join
      // would ever come on its own, and the queue behind this item waits for its verdict.
      if (this.ready()) this.#recheck();
      return { kind: "unconfirmed", error };
    }
  }

  describe(): { ok: boolean; state: string; detail?: string } {
    const s = this.#state;
    return { ok: s?.state === "joined", state: s?.state ?? "joining", detail: s?.reason };
  }
}
