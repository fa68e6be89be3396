// The XMPP side of the bridge: one connection, many MUC rooms. Rooms are (re)joined on every
// fresh session, watched by XEP-0410 self-pings, and a send is confirmed only when the room
// reflects every part of it (matched by XEP-0359 origin-id).
import { randomUUID } from "node:crypto";
import { EventEmitter, on } from "node:events";
import type { Logger } from "pino";
import { RepeatedWarning } from "../networks/shared/repeated-warning.ts";
import { MessageAuthors } from "./authors.ts";
import { RoomCatchUp } from "./catch-up.ts";
import { parseBareJid, XmppAuthError, XmppConnection } from "./connection.ts";
import { Room } from "./room.ts";
import { quoteFallback, RETRACTION_FALLBACK, retractionElements, richElements } from "./rich.ts";
import { RoomSendError } from "./send-error.ts";
import {
  bareKey,
  errorCondition,
  groupchat,
  isSubject,
  parseGroupchat,
  parseMucPresence,
  selfPing,
  selfPingVerdict,
  splitJid,
} from "./stanzas.ts";
import { splitBody, stripForbiddenXmlChars } from "./text.ts";
import { discoverUploadService, uploadFile, XmppUploadError, type UploadFile, type UploadServiceInfo } from "./upload.ts";
import type {
  RetractTarget,
  RoomMessage,
  RoomOptions,
  RoomSendOptions,
  RoomSendResult,
  RoomState,
  XmppEvents,
  XmppOptions,
} from "./types.ts";
import type { XmlElement } from "./xmpp-js.ts";

/** How many of our own origin-ids we remember to recognise reflections that lost their nick. */
const OWN_IDS_KEPT = 10_000;
/** How many room messages' authors we remember, to refuse corrections and retractions by others. */
const AUTHORS_KEPT = 10_000;

interface PendingSend {
  room: string;
  waiting: Set<string>;
  /** origin-id of each reflected part → the stanza-id the room gave it. */
  stanzaIds: Map<string, string | undefined>;
  /** Connection session the parts went out in: a fresh session may have lost them. */
  session: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** One stanza of a send: its body and the elements it carries besides. */
interface OutgoingPart {
  body: string;
  extra: XmlElement[];
}

export class MucClient extends EventEmitter<XmppEvents> {
  readonly #opts: XmppOptions;
  readonly #log: Logger;
  readonly #conn: XmppConnection;
  readonly #rooms = new Map<string, Room>();
  /** origin-id of each part we sent → its send. */
  readonly #pending = new Map<string, PendingSend>();
  readonly #ownIds = new Set<string>();
  readonly #authors = new MessageAuthors(AUTHORS_KEPT);
  readonly #warnings: RepeatedWarning;
  #session = 0;
  #pingTimer: NodeJS.Timeout | undefined;
  readonly #pinging = new Set<string>();
  readonly #stopped = new AbortController();
  /** The XEP-0363 service found in this session (or that there is none); asked again in a fresh session. */
  #uploadService: { session: number; info: Promise<UploadServiceInfo> } | undefined;

  constructor(opts: XmppOptions & { logger: Logger }) {
    super();
    const { logger, ...xmppOpts } = opts;
    this.#opts = xmppOpts;
    this.#log = logger.child({ component: "xmpp" });
    this.#warnings = new RepeatedWarning(this.#log);
    splitBody("", xmppOpts.maxBodyLength ?? 10_000); // validates the limit at construction
    this.#conn = new XmppConnection(xmppOpts, this.#log);
    this.#conn.on("online", () => this.#onOnline());
    this.#conn.on("resumed", () => {
      // A resumed stream kept our occupancy: rooms are back as they were, no rejoin.
      for (const room of this.#rooms.values()) room.resume();
      this.emit("online");
    });
    this.#conn.on("offline", () => {
      // No connection, no room: health must say so, and nothing is sent until we are back.
      for (const room of this.#rooms.values()) room.suspend();
      this.emit("offline");
    });
    this.#conn.on("fatal", (err) => {
      this.#loginFailed(err);
      this.#emitError(err);
    });
    this.#conn.on("stanza", (stanza) => this.#onStanza(stanza));
  }

  get online(): boolean {
    return this.#conn.online;
  }

  async start(): Promise<void> {
    try {
      await this.#conn.start();
    } catch (err) {
      if (err instanceof XmppAuthError) this.#loginFailed(err);
      throw err;
    }
    const interval = this.#opts.selfPingInterval ?? 60_000;
    this.#pingTimer ??= setInterval(() => this.#selfPingAll(interval), interval);
  }

  async stop(): Promise<void> {
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    this.#stopped.abort();
    for (const [id, p] of this.#pending) this.#settle(id, p, new RoomSendError("stopped", "XMPP client stopped before the room confirmed delivery"));
    if (this.#conn.online) await Promise.all([...this.#rooms.values()].map((r) => r.leave(2000)));
    for (const room of this.#rooms.values()) room.dispose();
    await this.#conn.stop();
  }

  join(room: string, opts: RoomOptions = {}): void {
    const key = bareKey(room);
    const existing = this.#rooms.get(key);
    if (existing) {
      existing.options = { ...existing.options, ...opts };
      if ((existing.state === "failed" || existing.state === "left") && this.online) existing.join();
      // Joined already (a reload keeps the room): no new join, so say where it stands to whoever
      // asked, who would otherwise wait for a state change that never comes.
      else this.emit("room", existing.snapshot());
      return;
    }
    const jid = splitJid(room)[0];
    const catchUp = new RoomCatchUp({
      room: jid,
      request: (stanza, ms) => this.#conn.request(stanza, ms),
      release: (stanza) => this.#onGroupchat(entry, stanza),
      log: this.#log,
    });
    const entry: Room = new Room(jid, this.#opts.nick, opts, {
      catchUp,
      send: (stanza) => this.#conn.send(stanza),
      onState: (state) => this.#onRoomState(state),
      log: this.#log,
      rejoinBackoff: this.#opts.reconnect ?? { min: 1000, max: 60_000 },
      subjectTimeout: this.#opts.subjectTimeout ?? 3000,
      joinTimeout: this.#opts.joinTimeout ?? 30_000,
    });
    this.#rooms.set(key, entry);
    if (this.online) entry.join();
  }

  async leave(room: string): Promise<void> {
    const key = bareKey(room);
    const entry = this.#rooms.get(key);
    if (!entry) return;
    for (const [id, p] of this.#pending) {
      if (p.room === key) this.#settle(id, p, new RoomSendError("lost", `left ${entry.jid} before the room confirmed delivery`));
    }
    // Still routed while leaving, so that the room's confirmation reaches it.
    if (this.online) await entry.leave(5000);
    entry.dispose();
    if (this.#rooms.get(key) === entry) this.#rooms.delete(key);
  }

  /**
   * Sends a groupchat message; resolves when the room reflected every part, with the stanza-ids
   * the room gave them. The body is stripped of characters XML 1.0 forbids and split at
   * maxBodyLength; part k>0 has origin-id `${originId}.${k}`. A split message carries its rich
   * elements (reply, correction, OOB) on the first part only: the later parts are plain text.
   */
  send(room: string, body: string, opts: RoomSendOptions = {}): Promise<RoomSendResult> {
    const invalid = invalidOption(opts);
    if (invalid) return Promise.reject(new RoomSendError("invalid", `cannot send to ${room}: ${invalid}`));
    let text = stripForbiddenXmlChars(body);
    if (opts.oob !== undefined && text.trim() === "") text = opts.oob;
    if (text.trim() === "") return Promise.reject(new RoomSendError("empty", `cannot send to ${room}: empty body`));
    const max = this.#opts.maxBodyLength ?? 10_000;
    let quote = opts.replyTo?.fallback !== undefined ? quoteFallback(stripForbiddenXmlChars(opts.replyTo.fallback)) : "";
    // The quote must end inside the first part (which is at least 3/4 of max long).
    if (Array.from(quote).length > max / 2 || quote.trim() === ">") quote = "";
    const parts = splitBody(quote + text, max);
    const rich = richElements({
      ...(opts.replyTo ? { replyTo: { id: opts.replyTo.id, ...(opts.replyTo.to ? { to: opts.replyTo.to } : {}) } } : {}),
      ...(quote ? { fallbackLength: Array.from(quote).length } : {}),
      ...(opts.replaces ? { replaces: opts.replaces } : {}),
      ...(opts.oob ? { oob: opts.oob } : {}),
    });
    return this.#sendParts(room, parts.map((part, k) => ({ body: part, extra: k === 0 ? rich : [] })), opts);
  }

  /**
   * XEP-0424: retracts a message we sent, named as the XEP wants it in a room: by the stanza-id
   * the room gave it (with its origin-id too, the older form is added for older clients). Resolves
   * when the room reflected the retraction, like send().
   */
  retract(room: string, target: RetractTarget, opts: { originId?: string; timeout?: number } = {}): Promise<RoomSendResult> {
    if (!target.stanzaId && !target.originId) {
      return Promise.reject(new RoomSendError("invalid", `cannot retract in ${room}: neither a stanza-id nor an origin-id given`));
    }
    return this.#sendParts(room, [{ body: RETRACTION_FALLBACK, extra: retractionElements(target) }], opts);
  }

  #sendParts(room: string, parts: OutgoingPart[], opts: { originId?: string; timeout?: number }): Promise<RoomSendResult> {
    const key = bareKey(room);
    const entry = this.#rooms.get(key);
    if (!entry || entry.state !== "joined") {
      return Promise.reject(new RoomSendError("not-joined", `cannot send to ${room}: room not joined (${entry?.state ?? "unknown room"})`));
    }
    const base = opts.originId ?? randomUUID();
    const originIds = parts.map((_, k) => (k === 0 ? base : `${base}.${k}`));
    const timeout = opts.timeout ?? 30_000;

    return new Promise<RoomSendResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        for (const id of originIds) this.#pending.delete(id);
        reject(new RoomSendError("timeout", `${room} did not reflect message ${base} within ${timeout} ms`));
      }, timeout);
      const pending: PendingSend = {
        room: key,
        waiting: new Set(originIds),
        stanzaIds: new Map(),
        session: this.#session,
        resolve: () => {
          clearTimeout(timer);
          resolve({ originIds, stanzaIds: originIds.map((id) => pending.stanzaIds.get(id)) });
        },
        reject: (err) => {
          clearTimeout(timer);
          for (const id of originIds) this.#pending.delete(id);
          reject(err);
        },
      };
      for (const id of originIds) {
        this.#pending.set(id, pending);
        this.#rememberOwn(id);
      }
      // Parts go out in order; a failed write fails the whole send (the room may hold a prefix).
      (async () => {
        for (const [k, part] of parts.entries()) await this.#conn.send(groupchat(entry.jid, part.body, originIds[k]!, part.extra));
      })().catch((err: Error) => pending.reject(new RoomSendError("write-failed", `sending to ${room} failed: ${err.message}`)));
    });
  }

  /**
   * XEP-0363: uploads a file to the server's HTTP File Upload service (found by service
   * discovery once per session) and resolves with its GET URL. Rejects with XmppUploadError:
   * "no-service", "too-large" (over the service's max-file-size), "refused", or "failed" (may
   * work later). `timeout` (default 60 s) bounds each step; discovery waits at most 10 s per item.
   */
  async upload(file: UploadFile, opts: { timeout?: number } = {}): Promise<string> {
    if (!this.online) throw new XmppUploadError("failed", "cannot upload: the XMPP connection is not online");
    const timeout = opts.timeout ?? 60_000;
    const iq = (stanza: XmlElement, ms: number) => this.#conn.request(stanza, ms);
    let cached = this.#uploadService;
    if (!cached || cached.session !== this.#session) {
      const entry = { session: this.#session, info: discoverUploadService(iq, parseBareJid(this.#opts.jid).domain, Math.min(timeout, 10_000)) };
      this.#uploadService = cached = entry;
      // "No service" holds for the session; a discovery that got no answer is asked again next time.
      entry.info.catch((err: unknown) => {
        if (!(err instanceof XmppUploadError && err.reason === "no-service") && this.#uploadService === entry) this.#uploadService = undefined;
      });
    }
    const service = await cached.info;
    const url = await uploadFile(iq, service, file, { timeout, allowPlainHttp: this.#opts.tls === "off" });
    this.#log.info({ service: service.jid, name: file.name, bytes: file.data.byteLength, host: new URL(url).host }, "file uploaded");
    return url;
  }

  rooms(): RoomState[] {
    return [...this.#rooms.values()].map((r) => r.snapshot());
  }

  /** Every room message from now on, until stop(). The `message` event carries the same. */
  async *messages(): AsyncIterable<RoomMessage> {
    try {
      for await (const [msg] of on(this, "message", { signal: this.#stopped.signal })) yield msg as RoomMessage;
    } catch (err) {
      if ((err as Error).name !== "AbortError") throw err;
    }
  }

  #onOnline(): void {
    this.#session++;
    this.#log.info({ rooms: this.#rooms.size }, "fresh session: joining every room");
    for (const room of this.#rooms.values()) room.resetForNewSession();
    this.emit("online");
  }

  #onRoomState(state: RoomState): void {
    if (state.state === "joined") {
      // Parts sent in an older session and not in the replayed history were lost with it.
      const key = bareKey(state.room);
      for (const [id, p] of this.#pending) {
        if (p.room === key && p.session < this.#session) {
          this.#settle(id, p, new RoomSendError("lost", `connection to ${state.room} was lost before the room confirmed delivery`));
        }
      }
    }
    this.emit("room", state);
  }

  #onStanza(stanza: XmlElement): void {
    const from = stanza.attrs.from;
    if (!from) return;
    const room = this.#rooms.get(bareKey(from));
    if (!room) return;
    if (stanza.is("presence")) {
      const presence = parseMucPresence(stanza);
      if (presence) room.onPresence(presence);
      return;
    }
    if (!stanza.is("message")) return;
    if (stanza.attrs.type === "error") return this.#onMessageError(stanza);
    if (isSubject(stanza)) return room.onSubject();
    if (room.catchUp.result(stanza) || room.catchUp.hold(stanza)) return;
    this.#onGroupchat(room, stanza);
  }

  /** One room message, live or released by the join's catch-up. */
  #onGroupchat(room: Room, stanza: XmlElement): void {
    const from = stanza.attrs.from ?? "";
    const parsed = parseGroupchat(stanza, new Date());
    if (!parsed) return;
    const ref = parsed.originId ?? parsed.id;
    // A moderation comes from the room itself: never our own message, whatever the moderator's nick.
    const own = !parsed.moderated && (parsed.nick === room.nick || (ref !== undefined && this.#ownIds.has(ref)));
    const jid = own ? this.#conn.bareJid : room.occupants.get(parsed.nick);
    const message: RoomMessage = { ...parsed, own, ...(jid ? { jid } : {}) };
    const roomKey = bareKey(from);
    // Our own reflections are never forged (and must still confirm their send).
    const forged = own ? undefined : this.#authors.forgedTarget(roomKey, message);
    if (forged !== undefined) {
      const kind = message.retracts !== undefined ? "retraction" : "correction";
      this.#warnings.warn(`forged ${kind} ${room.jid}`, { room: room.jid, nick: message.nick, target: forged }, `ignored a ${kind} of another occupant's message`);
      return;
    }
    if (!message.moderated) this.#authors.remember(roomKey, message);
    this.emit("message", message);
    if (own && ref !== undefined) this.#reflected(ref, roomKey, parsed.stanzaId);
  }

  #reflected(id: string, room: string, stanzaId: string | undefined): void {
    const pending = this.#pending.get(id);
    if (!pending || pending.room !== room) return;
    this.#pending.delete(id);
    pending.waiting.delete(id);
    pending.stanzaIds.set(id, stanzaId);
    if (pending.waiting.size === 0) pending.resolve();
  }

  #onMessageError(stanza: XmlElement): void {
    const id = stanza.attrs.id;
    const pending = id ? this.#pending.get(id) : undefined;
    if (!id || !pending) return;
    const condition = errorCondition(stanza) ?? "undefined-condition";
    this.#settle(id, pending, new RoomSendError("refused", `${stanza.attrs.from} refused message ${id}: ${condition}`));
  }

  #settle(id: string, pending: PendingSend, err: Error): void {
    this.#pending.delete(id);
    pending.reject(err);
  }

  #rememberOwn(id: string): void {
    this.#ownIds.add(id);
    if (this.#ownIds.size > OWN_IDS_KEPT) this.#ownIds.delete(this.#ownIds.values().next().value!);
  }

  /** XEP-0410: ask the room whether our occupant still exists; rejoin when it does not. */
  #selfPingAll(interval: number): void {
    if (!this.online) return;
    const timeout = Math.min(Math.max(interval, 1000), 30_000);
    for (const [key, room] of this.#rooms) {
      if (room.state !== "joined" || this.#pinging.has(key)) continue;
      this.#pinging.add(key);
      const nick = room.nick;
      this.#conn
        .request(selfPing(room.jid, nick), timeout)
        .then(
          () => selfPingVerdict({ result: true }),
          (err: Error & { condition?: string }) => selfPingVerdict({ error: err.name === "StanzaError" ? err.condition : undefined }),
        )
        .then((verdict) => {
          // The room may have been left or rejoined under another nick meanwhile.
          if (this.#rooms.get(key) !== room || room.nick !== nick || room.state !== "joined") return;
          if (verdict === "joined") room.confirmed();
          else if (verdict === "gone") room.rejoinLater("self-ping: not an occupant");
        })
        .finally(() => this.#pinging.delete(key));
    }
  }

  /** The connection gave up for good: no room can be joined and no send confirmed. */
  #loginFailed(err: Error): void {
    const reason = err instanceof XmppAuthError ? err.reason : "login-refused";
    for (const [id, p] of this.#pending) this.#settle(id, p, new RoomSendError("lost", `XMPP connection failed before the room confirmed delivery: ${err.message}`));
    for (const room of this.#rooms.values()) room.fail(reason);
  }

  #emitError(err: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", err);
    else this.#log.error({ err: err.message }, "XMPP error with no listener");
  }
}

/** What makes send options unusable, or undefined when they are fine. */
function invalidOption(opts: RoomSendOptions): string | undefined {
  if (opts.replyTo !== undefined && !opts.replyTo.id) return "a reply needs the replied message's id";
  if (opts.replaces !== undefined && !opts.replaces) return "a correction needs the corrected message's id";
  if (opts.oob !== undefined && !/^https?:\/\/\S+$/i.test(opts.oob)) return "an OOB URL must be one http(s) URL";
  return undefined;
}
