// An in-memory MUC service and a RoomLink client for fast relay tests. It keeps the behaviour the
// relay depends on from MucClient + a real room: a join replays history (`since`/`maxstanzas`)
// as delayed messages before "joined", own messages are reflected with their origin-id, sends
// before "joined" are rejected, every `online` rejoins. Faults: a send stored by the room whose
// reflection is lost (the send rejects), and going offline/online.
// Rich messages: an archiving room (`new MemoryMuc({ archive: true })`, as Prosody with
// mod_muc_mam) gives every message a stanza-id; occupants
// post replies, corrections, retractions and files, and our sends carry them (RoomSendOptions,
// recorded); upload() stores a file and answers its URL.
import { RoomSendError } from "../../../bridge/xmpp/send-error.ts";
import { EventEmitter } from "node:events";
import type { History, RoomMessage, RoomOptions, RoomState, XmppEvents } from "../../../bridge/xmpp/types.ts";
import type { RetractTarget, RoomLink, RoomSendOptions, RoomSendResult } from "../../../bridge/relay/room-link.ts";

/** What a room message may carry besides its body (RoomMessage's rich fields). */
export type RichFields = Pick<RoomMessage, "replyTo" | "bodyWithoutFallback" | "replaces" | "retracts" | "oob"> & { moderated?: { by?: string } };

export interface Logged {
  nick: string;
  body: string;
  originId?: string;
  id: string;
  /** XEP-0359 stanza-id the room gave it (an archiving room gives one to every message). */
  stanzaId?: string;
  time: Date;
  rich?: RichFields;
  /** What our send asked for (our own messages only). */
  sendOpts?: RoomSendOptions;
}

export class MemoryMuc {
  readonly log = new Map<string, Logged[]>();
  /** Files uploaded through any link, by URL. */
  readonly uploads = new Map<string, { data: Uint8Array; name: string; mime: string }>();
  /** false: the server has no upload service (upload() throws). */
  uploadService = true;
  readonly #archive: boolean;
  readonly #links = new Set<MemoryRoomLink>();
  readonly #events = new EventEmitter<{ posted: [] }>();
  #seq = 0;
  /** Strictly increasing message times (real time, at least 1 ms apart) keep `since` exact. */
  #clock = 0;

  constructor(opts: { archive?: boolean } = {}) {
    this.#archive = opts.archive ?? false;
  }

  attach(link: MemoryRoomLink): void {
    this.#links.add(link);
  }

  detach(link: MemoryRoomLink): void {
    this.#links.delete(link);
  }

  /** Stores a message and delivers it live to every link joined to the room. */
  post(room: string, nick: string, body: string, extra: { originId?: string; id?: string; rich?: RichFields; sendOpts?: RoomSendOptions } = {}): Logged {
    const seq = ++this.#seq;
    const entry: Logged = {
      nick,
      body,
      originId: extra.originId,
      id: extra.id ?? `m${seq}`,
      ...(this.#archive ? { stanzaId: `sid-${seq}` } : {}),
      time: new Date((this.#clock = Math.max(Date.now(), this.#clock + 1))),
      ...(extra.rich ? { rich: extra.rich } : {}),
      ...(extra.sendOpts ? { sendOpts: extra.sendOpts } : {}),
    };
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

  /** The room's messages (with what each carried). */
  entries(room: string): Logged[] {
    return this.log.get(room) ?? [];
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
      ...(e.stanzaId ? { stanzaId: e.stanzaId } : {}),
      ...e.rich,
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

  async send(room: string, body: string, opts: RoomSendOptions = {}): Promise<{ originIds: string[]; stanzaIds: (string | undefined)[] }> {
    if (!this.#online || this.#states.get(room)?.state !== "joined") throw new RoomSendError("not-joined", `not joined to ${room}`);
    // As MucClient sends them: a reply's quote goes before the body, marked as its fallback.
    const quote = opts.replyTo?.fallback !== undefined ? `> ${opts.replyTo.fallback}\n` : "";
    const rich: RichFields = {
      ...(opts.replyTo ? { replyTo: { id: opts.replyTo.id, ...(opts.replyTo.to ? { to: opts.replyTo.to } : {}) }, bodyWithoutFallback: body } : {}),
      ...(opts.replaces ? { replaces: opts.replaces } : {}),
      ...(opts.oob ? { oob: { url: opts.oob } } : {}),
    };
    const sendOpts = opts.replyTo || opts.replaces || opts.oob ? opts : undefined;
    const extra = { originId: opts.originId, rich, sendOpts };
    if (this.#loseReflections > 0) {
      this.#loseReflections -= 1;
      this.#muc.detach(this);
      this.#muc.post(room, this.nick, quote + body, extra);
      this.#muc.attach(this);
      throw new RoomSendError("timeout", "no reflection before the timeout");
    }
    const e = this.#muc.post(room, this.nick, quote + body, extra);
    return { originIds: opts.originId ? [opts.originId] : [], stanzaIds: [e.stanzaId] };
  }

  /** Every retract() call, in order. */
  readonly retracted: { room: string; target: RetractTarget }[] = [];

  /** XEP-0424 as MucClient sends it: a retraction of our message, reflected with its own origin-id. */
  async retract(room: string, target: RetractTarget, opts: { originId?: string } = {}): Promise<RoomSendResult> {
    if (!this.#online || this.#states.get(room)?.state !== "joined") throw new RoomSendError("not-joined", `not joined to ${room}`);
    const id = target.stanzaId ?? target.originId;
    if (!id) throw new RoomSendError("invalid", "no id to retract");
    this.retracted.push({ room, target });
    const e = this.#muc.post(room, this.nick, "", { originId: opts.originId, rich: { retracts: id } });
    return { originIds: opts.originId ? [opts.originId] : [], stanzaIds: [e.stanzaId] };
  }

  async upload(file: { data: Uint8Array; name: string; mime: string }): Promise<string> {
    if (!this.#muc.uploadService) throw new Error("no upload service");
    const url = `https://upload.example/${this.#muc.uploads.size + 1}/${encodeURIComponent(file.name)}`;
    this.#muc.uploads.set(url, file);
    return url;
  }

  rooms(): RoomState[] {
    return [...this.#states.values()];
  }
}
