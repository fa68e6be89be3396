// One bridged room's session, owned by its RoomTarget: the join (password, catch-up history),
// the joins completed in this process and the join each send was attempted under, the
// confirmation of our sends by their reflected origin-ids, and the rejoin that rechecks a send
// the room never reflected.
//
// Catch-up: each join asks the room for history since the last message seen (minus a small
// slack), or since the oldest unconfirmed send, whichever is older. Reflections of our origin-ids
// in that history confirm sends a crash or a disconnect left unconfirmed, before anything is
// resent (a send is resent only after a join that came after its attempt: RoomTarget.check).
import type { Logger } from "pino";
import type { Confirmation, Outbox } from "../store/outbox.ts";
import type { History, RoomState } from "../xmpp/types.ts";
import type { RoomLink } from "./room-link.ts";
import type { Confirm } from "./settlement.ts";

export interface RoomSessionOptions {
  room: string;
  /** The room's outbox target key (its oldest unconfirmed send bounds the catch-up). */
  targetKey: string;
  link: RoomLink;
  outbox: Outbox;
  logger: Logger;
  confirm: Confirm;
  password?: string;
  /** Overlap when asking the room for history, covering clock differences. */
  catchUpSlackMs: number;
}

/**
 * A reflection of one of our origin-ids: confirms the send it belongs to, or is one confirmed
 * before. Origin-ids are unique across rooms, so this holds in a room no longer bridged too.
 */
export function isOurReflection(originId: string, confirm: Confirm, outbox: Outbox, stanzaId?: string): boolean {
  // The stanza-id the room gave it goes into the id map (replies and retractions name it by that).
  return confirm(stanzaId ? { originId, resultId: stanzaId } : { originId }) || outbox.byOriginId(originId) !== undefined;
}

export class RoomSession {
  readonly room: string;
  readonly #o: RoomSessionOptions;
  readonly #listeners: (() => void)[] = [];
  #state: RoomState | undefined;
  /** Completed joins in this process; an attempt remembers the join it happened under. */
  #joins = 0;
  readonly #attemptJoin = new Map<number, number>();
  /** Leaving to rejoin (see recheck). */
  #rechecking = false;
  #stopped = false;

  constructor(opts: RoomSessionOptions) {
    this.room = opts.room;
    this.#o = opts;
    this.#state = opts.link.rooms().find((r) => r.room === opts.room);
    if (this.#state?.state === "joined") this.#joins = 1;
  }

  /** Joins now (when online) and on every new XMPP session; history is asked at each join. */
  join(): void {
    this.#o.link.join(this.room, { password: this.#o.password, history: () => this.history() });
  }

  /** What the next join asks the room to replay. */
  history(): History {
    const { outbox } = this.#o;
    const last = outbox.lastSeen(this.room)?.getTime();
    // A first join takes no history: everything said from now on is ours to relay, so a room
    // that stays quiet until we lose it still gets its catch-up on the next join.
    if (last === undefined) outbox.setLastSeen(this.room, new Date());
    const attempt = outbox.oldestAttempt(this.#o.targetKey);
    const bounds = [last, attempt].filter((t): t is number => t !== undefined);
    if (bounds.length === 0) return { maxstanzas: 0 };
    return { since: new Date(Math.min(...bounds) - this.#o.catchUpSlackMs) };
  }

  /** Fed from the link's "room" events. */
  update(state: RoomState): void {
    if (state.state === "failed") this.#o.logger.error({ room: this.room, reason: state.reason }, "room join failed");
    else this.#o.logger.info({ room: this.room, state: state.state }, "room state");
    if (state.state === "joined" && this.#state?.state !== "joined") this.#joins += 1;
    this.#state = state;
    for (const l of this.#listeners) l();
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  ready(): boolean {
    return this.#state?.state === "joined";
  }

  describe(): { ok: boolean; state: string; detail?: string } {
    const s = this.#state;
    return { ok: s?.state === "joined", state: s?.state ?? "joining", detail: s?.reason };
  }

  /** A send of this item is going out under the current join. */
  attempting(itemId: number): void {
    this.#attemptJoin.set(itemId, this.#joins);
  }

  /** The item's send is settled (reflected, or certainly not in the room). */
  attemptSettled(itemId: number): void {
    this.#attemptJoin.delete(itemId);
  }

  /** A join completed after the item's attempt, so its history would have shown the reflection. */
  joinedSinceAttempt(itemId: number): boolean {
    const at = this.#attemptJoin.get(itemId);
    // Attempted by an earlier process: this process's joins all asked for history since then.
    return at === undefined ? this.#joins > 0 : this.#joins > at;
  }

  /** A reflection of our origin-id in this room: confirms the send (see isOurReflection). */
  reflected(originId: string, stanzaId?: string): boolean {
    return isOurReflection(originId, this.#o.confirm, this.#o.outbox, stanzaId);
  }

  /** Our own message seen live: the catch-up of the next join starts after it. */
  seenOwn(time: Date): void {
    this.#o.outbox.setLastSeen(this.room, time);
  }

  /** Leaves and rejoins the room: the join's history (asked since the oldest attempt) settles unconfirmed sends. */
  recheck(): void {
    if (this.#stopped || this.#rechecking) return;
    this.#rechecking = true;
    const log = this.#o.logger;
    log.warn({ room: this.room }, "a send was not confirmed while the room stayed joined: rejoining to check its history");
    this.#o.link
      .leave(this.room)
      .catch((err: unknown) => log.warn({ err, room: this.room }, "leaving the room to rejoin it failed"))
      .finally(() => {
        this.#rechecking = false;
        if (!this.#stopped) this.join();
      });
  }

  /** The relay is stopping: no more rejoins. */
  stop(): void {
    this.#stopped = true;
  }
}
