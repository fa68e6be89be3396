// One MUC room's membership as a state machine: join (history, password), status 110, the
// subject that ends the history replay, nick conflicts, kicks, bans, silent removal. It sends
// stanzas through a callback and knows nothing about the connection.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { fullJitter, type BackoffBounds } from "./backoff.ts";
import { CatchUpError, type RoomCatchUp } from "./catch-up.ts";
import { joinPresence, leavePresence, type MucPresence } from "./stanzas.ts";
import type { History, RoomOptions, RoomState, RoomStateName } from "./types.ts";
import type { XmlElement } from "./xmpp-js.ts";

export interface RoomDeps {
  send(stanza: XmlElement): Promise<void>;
  onState(state: RoomState): void;
  log: Logger;
  rejoinBackoff: BackoffBounds;
  subjectTimeout: number;
  joinTimeout: number;
  /** Holds what a join brings in until its catch-up is complete (catch-up.ts). */
  catchUp: RoomCatchUp;
}

const MAX_NICK_SUFFIX = 20;

/** Join errors that end the attempt, by condition; the value is the reason reported. */
const FAILED_REASON: Record<string, string> = {
  forbidden: "banned",
  "registration-required": "members-only",
  "service-unavailable": "room-full",
};

export class Room {
  readonly jid: string;
  options: RoomOptions;
  /** Real bare JIDs of occupants, by nick, when the room shows them. */
  readonly occupants = new Map<string, string>();
  #nick: string;
  #state: RoomStateName = "left";
  #reason: string | undefined;
  #suffix = 0;
  #rejoins = 0;
  #got110 = false;
  /** The join's history replay is over and its catch-up is being read. */
  #finishing = false;
  /** id of the last join presence: only an error answering it is a join error. */
  #joinId: string | undefined;
  #leaving: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The state when the connection dropped, restored if the stream resumes. */
  #suspendedFrom: RoomStateName | undefined;
  readonly #deps: RoomDeps;
  readonly #baseNick: string;

  constructor(jid: string, nick: string, options: RoomOptions, deps: RoomDeps) {
    this.jid = jid;
    this.options = options;
    this.#baseNick = options.nick ?? nick;
    this.#nick = this.#baseNick;
    this.#deps = deps;
  }

  get nick(): string {
    return this.#nick;
  }

  /** Where the client puts what the room sends while a join is catching up. */
  get catchUp(): RoomCatchUp {
    return this.#deps.catchUp;
  }

  get state(): RoomStateName {
    return this.#state;
  }

  snapshot(): RoomState {
    return { room: this.jid, state: this.#state, nick: this.#nick, ...(this.#reason ? { reason: this.#reason } : {}) };
  }

  /** Sends the join presence now (again, if already joined: the server resyncs us). */
  join(): void {
    this.#clearTimer();
    this.#got110 = false;
    this.#finishing = false;
    this.occupants.clear();
    this.#setState("joining", this.#reason);
    const history = resolveHistory(this.options.history);
    this.#deps.log.info({ room: this.jid, nick: this.#nick, history }, "joining room");
    const joinId = (this.#joinId = randomUUID());
    this.#deps.catchUp.begin(history);
    this.#deps.send(joinPresence(this.jid, this.#nick, history, this.options.password, joinId)).catch((err: Error) => {
      // Typically the connection is going down (a server shutting down removes us first, and
      // the rejoin can come before the client noticed): the offline event stops this retry and
      // the next session joins. Otherwise the retry is the join.
      this.#deps.log.warn({ room: this.jid, err: err.message }, "join presence not sent");
      if (this.#joinId === joinId && this.#state === "joining" && this.#suspendedFrom === undefined) this.rejoinLater("join presence not sent");
    });
    this.#timer = setTimeout(() => this.rejoinLater("no self-presence (110) in time"), this.#deps.joinTimeout);
  }

  /** The connection dropped: not in the room until it resumes or a new session rejoins. */
  suspend(): void {
    if (this.#state === "failed" || this.#state === "left") return;
    this.#clearTimer(); // no join attempts while there is no connection
    if (this.#state !== "joined") this.#stopJoin();
    this.#suspendedFrom ??= this.#state;
    this.#setState("joining", "offline");
  }

  /** The stream was resumed (XEP-0198): occupancy survived, so the state before the drop holds. */
  resume(): void {
    const was = this.#suspendedFrom;
    this.#suspendedFrom = undefined;
    if (was === "joined") this.#setState("joined");
    else if (was === "joining") this.join();
  }

  /** A fresh session: start over with the configured nick. */
  resetForNewSession(): void {
    this.#suspendedFrom = undefined;
    this.#suffix = 0;
    this.#nick = this.#baseNick;
    this.#reason = undefined;
    this.join();
  }

  /** We are (or may be) out of the room: join again after a backoff delay. */
  rejoinLater(reason: string): void {
    this.#clearTimer();
    this.#stopJoin();
    const delay = fullJitter(this.#rejoins++, this.#deps.rejoinBackoff);
    this.#deps.log.warn({ room: this.jid, reason, delay }, "rejoining room after delay");
    this.#setState("joining", reason);
    this.#timer = setTimeout(() => this.join(), delay);
  }

  /** Out of the room for good (e.g. the connection cannot log in): no more join attempts. */
  fail(reason: string): void {
    this.#suspendedFrom = undefined;
    if (this.#state !== "failed") this.#failed(reason);
  }

  /** A self-ping showed we are still in: the kick/rejoin backoff can start over. */
  confirmed(): void {
    this.#rejoins = 0;
  }

  /** Leaves; resolves when the room confirmed it, or after `timeout` ms. */
  leave(timeout: number): Promise<void> {
    this.#clearTimer();
    this.#stopJoin();
    const wasIn = this.#state === "joined" || this.#state === "joining";
    if (!wasIn) {
      this.#setState("left");
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#leaving = undefined;
        this.#setState("left");
        resolve();
      };
      const timer = setTimeout(done, timeout);
      this.#leaving = done;
      this.#deps.send(leavePresence(this.jid, this.#nick)).catch(done);
    });
  }

  dispose(): void {
    this.#clearTimer();
    this.#stopJoin();
    this.#leaving?.();
  }

  onPresence(p: MucPresence): void {
    const self = p.codes.has("110");
    if (p.type === "error") return this.#onJoinError(p);
    if (!self) {
      if (p.nick === undefined) return;
      if (p.type === "unavailable") {
        // 303: the occupant only changed nick; track the JID under the new one.
        const jid = this.occupants.get(p.nick);
        this.occupants.delete(p.nick);
        if (p.codes.has("303") && p.newNick && jid) this.occupants.set(p.newNick, jid);
      } else if (p.jid) this.occupants.set(p.nick, p.jid);
      return;
    }
    if (p.type === "available") {
      // The room may have changed our nick (status 210); what it says is what we hold.
      if (p.nick !== undefined) this.#nick = p.nick;
      if (this.#got110) return; // a presence update while in the room
      this.#got110 = true;
      this.#clearTimer();
      // History follows; the subject message marks its end (XEP-0045 §7.2.15).
      this.#timer = setTimeout(() => {
        this.#deps.log.info({ room: this.jid }, "no subject after join; treating the history replay as over");
        this.#historyOver();
      }, this.#deps.subjectTimeout);
      return;
    }
    this.#onSelfUnavailable(p);
  }

  /** The subject message: the history replay is over. */
  onSubject(): void {
    if (this.#state === "joining" && this.#got110) this.#historyOver();
  }

  /** Joined once the catch-up is released; a catch-up that could not be read makes the join again. */
  #historyOver(): void {
    if (this.#finishing) return;
    this.#finishing = true;
    this.#clearTimer();
    const joinId = this.#joinId;
    this.#deps.catchUp.finish().then(
      (current) => {
        if (current && this.#joinId === joinId && this.#state === "joining") this.#joined();
      },
      (err: Error) => {
        if (this.#joinId !== joinId || this.#state !== "joining") return;
        if (!(err instanceof CatchUpError)) this.#deps.log.error({ room: this.jid, err }, "room catch-up failed");
        this.rejoinLater(err.message);
      },
    );
  }

  /** The join in progress (if any) is over: what it held is dropped, the next join asks again. */
  #stopJoin(): void {
    this.#finishing = false;
    this.#deps.catchUp.abort();
  }

  #joined(): void {
    this.#clearTimer();
    this.#finishing = false;
    this.#reason = undefined;
    this.#setState("joined");
    this.#deps.log.info({ room: this.jid, nick: this.#nick }, "joined room");
  }

  #onJoinError(p: MucPresence): void {
    // Anything else is a bounce of another presence (e.g. the server's own unavailable presence
    // to a room that is already gone while it shuts down): not an answer to our join.
    if (this.#state !== "joining" || p.id === undefined || p.id !== this.#joinId) {
      // Expected while leaving or shutting down: debug, not a warning an operator must read.
      const level = this.#state === "left" ? "debug" : "warn";
      this.#deps.log[level]({ room: this.jid, error: p.error, state: this.#state }, "presence error not answering our join: ignored");
      return;
    }
    this.#clearTimer();
    if (p.error === "conflict") {
      if (++this.#suffix > MAX_NICK_SUFFIX) return this.#failed("conflict");
      const taken = this.#nick;
      this.#nick = `${this.#baseNick}_${this.#suffix}`;
      this.#deps.log.info({ room: this.jid, taken, nick: this.#nick }, "nick taken; retrying with a suffix");
      return this.join();
    }
    if (p.errorType === "wait") return this.rejoinLater(p.error ?? "wait");
    this.#failed(FAILED_REASON[p.error ?? ""] ?? p.error ?? "error");
  }

  #onSelfUnavailable(p: MucPresence): void {
    if (p.codes.has("303") && p.newNick) {
      this.#nick = p.newNick; // our nick was changed; the 110 presence under the new nick follows
      this.#got110 = false;
      return;
    }
    if (this.#leaving) return this.#leaving();
    this.#got110 = false;
    if (p.destroyed) return this.#failed("destroyed");
    if (p.codes.has("301")) return this.#failed("banned");
    if (p.codes.has("321")) return this.#failed("affiliation-removed");
    if (p.codes.has("322")) return this.#failed("members-only");
    const why = p.codes.has("307") ? "kicked" : p.codes.has("332") ? "room-shutdown" : "removed";
    this.rejoinLater(p.reason ? `${why}: ${p.reason}` : why);
  }

  #failed(reason: string): void {
    this.#clearTimer();
    this.#stopJoin();
    this.#deps.log.error({ room: this.jid, reason }, "room failed");
    this.#setState("failed", reason);
  }

  #setState(state: RoomStateName, reason?: string): void {
    if (this.#state === state && this.#reason === reason) return;
    this.#state = state;
    this.#reason = reason;
    this.#deps.onState(this.snapshot());
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function resolveHistory(history: RoomOptions["history"]): History {
  const h = typeof history === "function" ? history() : history;
  return h ?? { maxstanzas: 0 };
}
