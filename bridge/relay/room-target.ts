// An XMPP room as a relay target. Sends only while joined (after the join history), with the
// item's deterministic origin-id; the room's reflection is the confirmation. A send that failed
// without a reflection may still have reached the room, so it is resent only after a later join,
// whose history (requested since the attempt) would have shown the reflection. The room's join
// state, catch-up bounds and confirmations live in its session (room-session.ts).
//
// Rich items (rich-send.ts): a reply, a correction (XEP-0308) or a retraction (XEP-0424) of our
// message names the other message by the ids the id map holds for it in this room. A picture or
// file of a network is fetched from its network (up to media.maxBytes), uploaded (XEP-0363) and
// posted with OOB, the body exactly its URL; the URL is kept on the item, so a resend does not
// upload again. Where that cannot be done (too large, no upload service, the network cannot give
// it), the item's note is posted instead: a network URL is never posted (it may carry a token).
import { SendError } from "../network.ts";
import type { ItemMedia, OutboxItem } from "../store/outbox.ts";
import { RoomSendError } from "../xmpp/send-error.ts";
import { formatBytes } from "./format.ts";
import { planRoom, plainForm, type RoomPlan } from "./rich-send.ts";
import type { RoomLink } from "./room-link.ts";
import { RoomSession, type RoomSessionOptions } from "./room-session.ts";
import { errorText, roomTargetKey, type SendOutcome, type Target, type Verdict } from "./target.ts";

/** How the room target gets a network's picture or file (fetchMedia of the network that made it). */
export interface MediaSource {
  /** relay.media_max_bytes. */
  maxBytes: number;
  fetch(media: ItemMedia, maxBytes: number): Promise<{ data: Uint8Array; mime: string; name: string }>;
}

export interface RoomTargetOptions extends Omit<RoomSessionOptions, "targetKey"> {
  link: RoomLink;
  maxLength: number;
  /** How long a send waits for its reflection (passed to RoomLink.send). */
  sendTimeout?: number;
  /** Where media items get their bytes; without it they are posted as their note. */
  media?: MediaSource;
}

export class RoomTarget implements Target {
  readonly key: string;
  readonly maxLength: number;
  readonly room: string;
  readonly session: RoomSession;
  readonly #link: RoomLink;
  readonly #sendTimeout: number | undefined;
  readonly #o: RoomTargetOptions;

  constructor(opts: RoomTargetOptions) {
    this.room = opts.room;
    this.key = roomTargetKey(opts.room);
    this.maxLength = opts.maxLength;
    this.#link = opts.link;
    this.#sendTimeout = opts.sendTimeout;
    this.#o = opts;
    this.session = new RoomSession({ ...opts, targetKey: this.key });
  }

  /** The link can retract our messages (XEP-0424). */
  get canRetract(): boolean {
    return typeof this.#link.retract === "function";
  }

  /** The link can upload files (XEP-0363); whether the server has the service shows at the first upload. */
  get canUpload(): boolean {
    return typeof this.#link.upload === "function";
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

  async send(queued: OutboxItem): Promise<SendOutcome> {
    const { outbox } = this.#o;
    // Read again after the worker's attempt mark: an edit may have changed the text of the unsent item.
    const item = outbox.get(queued.id) ?? queued;
    const nick = this.#link.rooms().find((r) => r.room === this.room)?.nick;
    let plan: RoomPlan = planRoom(item, this.room, this.key, nick, outbox.ids, this.canRetract);
    if (plan.op === "none") return { kind: "delivered" };
    if (plan.op === "upload") {
      const up = await this.#upload(item, plan.media);
      if ("retry" in up) return { kind: "retry", error: up.retry };
      plan = "url" in up ? { op: "send", body: up.url, opts: { oob: up.url } } : { op: "send", body: `${item.text} (${up.note})`, opts: {}, resolved: true };
    }
    if (plan.op === "send" && plan.resolved) outbox.resolve(item.id, { kind: "message", text: plan.body });
    this.session.attempting(item.id);
    try {
      const opts = { originId: item.originId, timeout: this.#sendTimeout };
      const res = plan.op === "retract" ? await this.#link.retract!(this.room, plan.target, opts) : await this.#link.send(this.room, plan.body, { ...plan.opts, ...opts });
      this.session.attemptSettled(item.id);
      return { kind: "delivered", resultId: res.stanzaIds?.[0] };
    } catch (err) {
      const error = errorText(err);
      if (err instanceof RoomSendError && err.neverSendable) {
        // A native form the client refuses (an id it finds bad): the plain form goes next.
        const plain = plan.op === "send" && !plan.resolved ? plainForm(item) : undefined;
        if (err.reason === "invalid" && plain) {
          this.session.attemptSettled(item.id);
          outbox.resolve(item.id, { kind: "message", text: plain });
          return { kind: "retry", error: `${error}; sending it as plain text`, afterMs: 0 };
        }
        return { kind: "fatal", error };
      }
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

  /**
   * A network's file: fetched and uploaded, its URL kept on the item. `note` says why it is posted
   * as its note instead; `retry` that the network could not give it now (tried again later).
   */
  async #upload(item: OutboxItem, media: ItemMedia): Promise<{ url: string } | { note: string } | { retry: string }> {
    const { media: source, logger, outbox } = this.#o;
    const log = (reason: string, err?: unknown) => logger.warn({ room: this.room, item: item.id, media: media.name, reason, err }, "a picture or file is posted as a note");
    if (!this.#link.upload || !source) {
      log("no upload");
      return { note: "not uploaded: the XMPP server has no file upload" };
    }
    if (media.size !== undefined && media.size > source.maxBytes) {
      log("too large");
      return { note: `over the ${formatBytes(source.maxBytes)} limit` };
    }
    let file: { data: Uint8Array; mime: string; name: string };
    try {
      file = await source.fetch(media, source.maxBytes);
    } catch (err) {
      // The network said "not now": later. Anything else (too large, gone, refused): the note,
      // without the error's text, which may hold the network's URL.
      if (err instanceof SendError && err.kind !== "fatal") return { retry: `fetching the file failed: ${errorText(err)}` };
      log("fetch failed", err);
      return { note: "could not be fetched from its network" };
    }
    if (file.data.byteLength > source.maxBytes) {
      log("too large");
      return { note: `over the ${formatBytes(source.maxBytes)} limit` };
    }
    let url: string;
    try {
      url = await this.#link.upload({ data: file.data, name: file.name || media.name || "file", mime: file.mime || media.mime || "application/octet-stream" });
    } catch (err) {
      log("upload refused", err);
      return { note: "the XMPP server refused the upload" };
    }
    outbox.setMedia(item.id, { ...media, url });
    return { url };
  }

  describe(): { ok: boolean; state: string; detail?: string } {
    return this.session.describe();
  }
}
