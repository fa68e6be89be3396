// An in-memory MUC service and a RoomLink client for fast relay tests. It keeps the behaviour the
// relay depends on from MucClient + a real room: a join replays history (`since`/`maxstanzas`)
// as delayed messages before "joined", own messages are reflected with their origin-id, sends
// before "joined" are rejected, every `online` rejoins. Faults: a send stored by the room whose
// reflection is lost (the send rejects), and going offline/online.
import { RoomSendError } from "../../../bridge/xmpp/send-error.ts";
import { EventEmitter } from "node:events";
import type { History, RoomMessage, RoomOptions, RoomState, XmppEvents } from "../../../bridge/xmpp/types.ts";
import type { RoomLink } from "../../../bridge/relay/room-link.ts";

interface Logged {
  nick: string;
  body: string;
  originId?: string;
  id: string;
  time: Date;
}

export class MemoryMuc {
  readonly log = new Map<string, Logged[]>();
  readonly #links = new Set<MemoryRoomLink>();
  readonly #events = new EventEmitter<{ posted: [] }>();
  #seq = 0;
  /** Strictly increasing message times (real time, at least 1 ms apart) keep `since` exact. */
  #clock = 0;

  attach(link: MemoryRoomLink): void {
    this.#links.add(link);
  }

  detach(link: MemoryRoomLink): void {
    this.#links.delete(link);
  }

  /** Stores a message and delivers it live to every link joined to the room. */
  post(room: string, nick: string, body: string, extra: { originId?: string; id?: string } = {}): Logged {
    const entry: Logged = { nick, body, originId: extra.originId, id: extra.id ?? `m${++this.#seq}`, time: new Date((this.#clock = Math.max(Date.now(), this.#clock + 1))) };
    const log = this.log.get(room) ?? [];
    log.push(entry);
    this.log.set(room, log);
    for (const l of this.#links) l.deliver(room, entry, false);
    this.#events.emit("posted");
    return entry;
  }

  /** What the room's history would replay for this request. */
  history(room: string, h: History): Logged[] {
    const log = this.log.get(room) ?? [];
    if ("since" in h) return log.filter((e) => e.time.getTime() >= h.since.getTime());
    return h.maxstanzas <= 0 ? [] : log.slice(-h.maxstanzas);
  }

  bodies(room: string): string[] {
    return (this.log.get(room) ?? []).map((e) => e.body);
  }

  /** Resolves once the room holds at least `n` messages. */
  waitForCount(room: string, n: number): Promise<string[]> {
    return new Promise((resolve) => {
      const check = () => {
        if ((this.log.get(room)?.length ?? 0) < n) return;
        this.#events.off("posted", check);
        resolve(this.bodies(room));
      };
      this.#events.on("posted", check);
      check();
    });
  }
}

export class MemoryRoomLink extends EventEmitter<XmppEvents> implements RoomLink {
  readonly nick: string;
  readonly #muc: MemoryMuc;
  readonly #wanted = new Map<string, RoomOptions>();
  readonly #states = new Map<string, RoomState>();
  /** The history each join asked for, in order (for assertions). */
  readonly historyAsked: { room: string; history: History }[] = [];
  #online = false;
  #loseReflections = 0;

  constructor(muc: MemoryMuc, nick: string) {
    super();
    this.nick = nick;
    this.#muc = muc;
  }

  goOnline(): void {
    this.#online = true;
    this.#muc.attach(this);
    this.emit("online");
    for (const room of this.#wanted.keys()) this.#join(room);
  }

  goOffline(): void {
    this.#online = false;
    this.#muc.detach(this);
    for (const room of this.#wanted.keys()) this.#setState({ room, state: "joining", nick: this.nick });
    this.emit("offline");
  }

  join(room: string, opts: RoomOptions = {}): void {
    this.#wanted.set(room, opts);
    if (this.#online) this.#join(room);
  }

  async leave(room: string): Promise<void> {
    this.#wanted.delete(room);
    this.#setState({ room, state: "left", nick: this.nick });
  }

  #join(room: string): void {
    this.#setState({ room, state: "joining", nick: this.nick });
    const h = this.#wanted.get(room)?.history ?? { maxstanzas: 0 };
    const history = typeof h === "function" ? h() : h;
    this.historyAsked.push({ room, history });
    for (const e of this.#muc.history(room, history)) this.deliver(room, e, true);
    this.#setState({ room, state: "joined", nick: this.nick });
  }

  #setState(s: RoomState): void {
    this.#states.set(s.room, s);
    this.emit("room", s);
  }

  deliver(room: string, e: Logged, delayed: boolean): void {
    if (!delayed && this.#states.get(room)?.state !== "joined") return;
    const msg: RoomMessage = {
      room,
      nick: e.nick,
      body: e.body,
      id: e.id,
      originId: e.originId,
      own: e.nick === this.nick,
      time: e.time,
      ...(delayed ? { delayed: e.time } : {}),
    };
    this.emit("message", msg);
  }

  /** The next `n` sends reach the room but their reflection is lost (the send rejects). */
  loseReflections(n: number): void {
    this.#loseReflections += n;
  }

  async send(room: string, body: string, opts: { originId?: string } = {}): Promise<{ originIds: string[] }> {
    if (!this.#online || this.#states.get(room)?.state !== "joined") throw new RoomSendError("not-joined", `not joined to ${room}`);
    if (this.#loseReflections > 0) {
      this.#loseReflections -= 1;
      this.#muc.detach(this);
      this.#muc.post(room, this.nick, body, { originId: opts.originId });
      this.#muc.attach(this);
      throw new RoomSendError("timeout", "no reflection before the timeout");
    }
    this.#muc.post(room, this.nick, body, { originId: opts.originId });
    return { originIds: opts.originId ? [opts.originId] : [] };
  }

  rooms(): RoomState[] {
    return [...this.#states.values()];
  }
}
