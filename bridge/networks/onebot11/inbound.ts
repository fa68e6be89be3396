// Events → InboundMessages for the sink: group messages of the configured groups, rendered
// readably; our own (`message_sent`, or a message whose user_id is ours) marked `own` as the
// echo that confirms a send. Handed to the sink one at a time, in order, retried until it takes them.
import type { Logger } from "pino";
import { z } from "zod";
import type { InboundMessage, MediaRef, MessageSink } from "../../network.ts";
import { deliverWithRetry } from "../shared/deliver.ts";
import { groupFileRef, mentionedIds, renderSegments, toSegments } from "./message.ts";
import { displayName, type MemberNames } from "./names.ts";

/** Ids remembered for dedupe (webhook retries of an event already taken). */
const RECENT_IDS = 1_000;

export interface InboundOptions {
  groups: ReadonlySet<string>;
  /** Our own user id, learned from get_login_info (null until then). */
  selfId: () => number | null;
  names: MemberNames;
  sink: MessageSink;
  log: Logger;
  backoff: { min: number; max: number };
  signal: AbortSignal;
  /** After the sink took a message (the catch-up mark moves on). */
  onDelivered?: (msg: InboundMessage, event: Record<string, unknown>) => void;
  /** A live own message arrived (echoes are switched on at the implementation). */
  onOwn?: (msg: InboundMessage) => void;
  /** An event that cannot be made a message: logged once with its id, counted, skipped. */
  onRejected?: (reason: string) => void;
  /**
   * Whether group_upload notices are relayed as file messages: go-cqhttp and Lagrange report a
   * group file only so; NapCat and LLBot also post it as a message with a `file` segment (relayed
   * as that), so there the notice would be a second copy.
   */
  groupUploads?: () => boolean;
}

const intLike = z.union([z.number().int().refine(Number.isSafeInteger), z.string().regex(/^-?\d{1,15}$/)]);
/** The fields a group message event must have to be relayed at all (the rest is read leniently). */
export const GroupMessageEvent = z.looseObject({
  post_type: z.enum(["message", "message_sent"]),
  message_type: z.literal("group"),
  group_id: intLike,
  user_id: intLike,
  message_id: intLike.optional(),
  message_seq: z.union([intLike, z.null()]).optional(),
  time: z.number().finite().optional(),
});

type Event = Record<string, unknown>;

/** A message recalled in a group (protocols.md §2; NapCat, go-cqhttp, Lagrange, LLBot all report it). */
const RecallNotice = z.looseObject({
  post_type: z.literal("notice"),
  notice_type: z.literal("group_recall"),
  group_id: intLike,
  message_id: intLike,
  user_id: intLike.optional(),
  operator_id: intLike.optional(),
  time: z.number().finite().optional(),
});

/** A group file uploaded (go-cqhttp: with its url; the others: id and busid for get_group_file_url). */
const UploadNotice = z.looseObject({
  post_type: z.literal("notice"),
  notice_type: z.literal("group_upload"),
  group_id: intLike,
  user_id: intLike,
  file: z.looseObject({
    id: z.union([z.string().min(1), z.number()]),
    name: z.string().min(1),
    size: z.union([z.number(), z.string()]).optional().catch(undefined),
    busid: z.union([z.number(), z.string()]).optional().catch(undefined),
    url: z.string().optional().catch(undefined),
  }),
  time: z.number().finite().optional(),
});

function isUpload(ev: Event): boolean {
  return ev.post_type === "notice" && ev.notice_type === "group_upload";
}

function isRecall(ev: Event): boolean {
  return ev.post_type === "notice" && ev.notice_type === "group_recall";
}

/** The id of a recall: its own, never the recalled message's (the relay dedupes by id). */
function recallKey(group: number, messageId: unknown): string {
  return `${group}:recall:${idText(messageId)}`;
}

/**
 * A group_recall notice as a "retract" of `group:message_id`. `own` when our account recalled
 * it (the echo of our own retract()).
 */
function recallMessage(ev: Event, key: string, selfId: number | null): InboundMessage {
  const group = id(ev.group_id)!;
  const operator = id(ev.operator_id) ?? id(ev.user_id);
  const self = selfId ?? id(ev.self_id);
  const stamped = typeof ev.time === "number" && Number.isFinite(ev.time) ? new Date(ev.time * 1000) : new Date();
  return {
    id: key,
    group: String(group),
    senderId: String(operator ?? ""),
    senderName: String(operator ?? ""),
    text: "",
    kind: "retract",
    ref: Inbound.key(group, ev.message_id),
    time: Number.isNaN(stamped.getTime()) ? new Date() : stamped,
    ...(operator !== undefined && operator === self ? { own: true } : {}),
  };
}

function id(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

function asEvent(e: unknown): Event | undefined {
  return typeof e === "object" && e !== null && !Array.isArray(e) ? (e as Event) : undefined;
}

export class Inbound {
  private readonly o: InboundOptions;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly recent = new Set<string>();
  /** Deliveries under way by message id: a webhook retry joins the first attempt. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(o: InboundOptions) {
    this.o = o;
  }

  /**
   * Whether the event is a group message of a configured group (ours included: those are echoes).
   * A group message of a configured group whose fields are unusable is rejected (logged, counted).
   */
  relevant(e: unknown): boolean {
    const ev = asEvent(e);
    if (ev && isRecall(ev)) return this.recallRelevant(ev);
    if (ev && isUpload(ev)) return this.uploadRelevant(ev);
    if (!ev || (ev.post_type !== "message" && ev.post_type !== "message_sent") || ev.message_type !== "group") return false;
    const group = id(ev.group_id);
    if (group !== undefined && !this.o.groups.has(String(group))) return false;
    if (!GroupMessageEvent.safeParse(ev).success) {
      this.reject(ev, "group message event of an unusable shape");
      return false;
    }
    return group !== undefined;
  }

  /** A group_recall notice of a configured group; one without a usable message_id is rejected. */
  private recallRelevant(ev: Event): boolean {
    const group = id(ev.group_id);
    if (group === undefined || !this.o.groups.has(String(group))) return false;
    if (!RecallNotice.safeParse(ev).success) {
      this.reject(ev, "group_recall notice of an unusable shape");
      return false;
    }
    return true;
  }

  /** A group_upload notice of a configured group, where the implementation reports files only so. */
  private uploadRelevant(ev: Event): boolean {
    const group = id(ev.group_id);
    if (!this.o.groupUploads?.() || group === undefined || !this.o.groups.has(String(group))) return false;
    if (!UploadNotice.safeParse(ev).success) {
      this.reject(ev, "group_upload notice of an unusable shape");
      return false;
    }
    return true;
  }

  private readonly rejected = new Set<string>();
  private reject(ev: Event, reason: string): void {
    const key = `${idText(ev.group_id)}:${idText(ev.message_id)}`;
    if (this.rejected.has(key)) return;
    this.rejected.add(key);
    if (this.rejected.size > RECENT_IDS) this.rejected.delete(this.rejected.values().next().value!);
    this.o.log.warn({ id: key, reason }, "onebot11: event rejected (not a message we can relay); skipped");
    this.o.onRejected?.(reason);
  }

  /** Whether the event was sent by our own account. */
  own(ev: Event): boolean {
    if (ev.post_type === "message_sent") return true;
    const user = id(ev.user_id);
    return user !== undefined && (user === id(ev.self_id) || user === this.o.selfId());
  }

  /** The message's id as the sink sees it: `group:message_id` (SendResult.id has the same form). */
  static key(group: number | string, messageId: unknown): string {
    return `${String(group)}:${String(messageId)}`;
  }

  /**
   * Delivers the event if it is relevant; resolves once the sink took it (or it was not ours).
   * Rejects only when the signal aborts. Calls are served in the order they were made.
   */
  handle(e: unknown, o: { live?: boolean } = {}): Promise<void> {
    if (!this.relevant(e)) return Promise.resolve();
    const live = o.live ?? true;
    const ev = e as Event;
    // message_id is stable on redelivery; an event without one gets a key from what it does carry.
    const mid = ev.message_id ?? ev.message_seq;
    const file = isUpload(ev) ? (ev.file as { id: unknown }) : undefined;
    const key = isRecall(ev) ? recallKey(id(ev.group_id)!, ev.message_id) : file ? `${id(ev.group_id)}:upload:${idText(file.id)}` : Inbound.key(id(ev.group_id)!, mid === undefined || mid === null ? `t${idText(ev.time)}:${idText(ev.user_id)}` : mid);
    if (this.recent.has(key)) return Promise.resolve();
    const running = this.inFlight.get(key);
    if (running) return running;
    const run = this.tail.catch(() => undefined).then(() => this.deliver(ev, key, live));
    this.tail = run;
    this.inFlight.set(key, run);
    void run.then(
      () => {
        this.inFlight.delete(key);
        this.recent.add(key);
        if (this.recent.size > RECENT_IDS) this.recent.delete(this.recent.values().next().value!);
      },
      () => this.inFlight.delete(key),
    );
    return run;
  }

  /** Whether a message with this key was handed to the sink lately. */
  seen(key: string): boolean {
    return this.recent.has(key) || this.inFlight.has(key);
  }

  private async deliver(ev: Event, key: string, live: boolean): Promise<void> {
    if (this.recent.has(key)) return;
    const msg = isRecall(ev) ? recallMessage(ev, key, this.o.selfId()) : isUpload(ev) ? await this.uploadMessage(ev, key) : await this.toMessage(ev, key);
    const { sink, signal, backoff, log } = this.o;
    if (msg.own && live && msg.kind !== "retract") this.o.onOwn?.(msg);
    await deliverWithRetry(sink, msg, { backoff, log, network: "onebot11", signal }); // a hung sink does not hang stop()
    if (ev.post_type !== "notice") this.o.onDelivered?.(msg, ev); // a notice never moves the catch-up mark
  }

  /** A group file as a message with no text and the file as media (its url, else a groupFileRef). */
  private async uploadMessage(ev: Event, key: string): Promise<InboundMessage> {
    const n = UploadNotice.parse(ev);
    const group = id(n.group_id)!;
    const user = id(n.user_id)!;
    const name = (await this.o.names.lookup(group, user, this.o.signal)) ?? String(user);
    const url = typeof n.file.url === "string" && /^https?:\/\//i.test(n.file.url) ? n.file.url : undefined;
    const bytes = Number(n.file.size);
    const media: MediaRef = {
      kind: "file",
      ref: url ?? groupFileRef(String(group), n.file.busid === undefined ? "" : String(n.file.busid), String(n.file.id)),
      name: n.file.name,
      ...(Number.isSafeInteger(bytes) && bytes >= 0 ? { size: bytes } : {}),
    };
    const stamped = n.time === undefined ? new Date() : new Date(n.time * 1000);
    return {
      id: key,
      group: String(group),
      senderId: String(user),
      senderName: name,
      text: "",
      media: [media],
      time: Number.isNaN(stamped.getTime()) ? new Date() : stamped,
      ...(this.own(ev) ? { own: true } : {}),
    };
  }

  private async toMessage(ev: Event, key: string): Promise<InboundMessage> {
    const group = id(ev.group_id)!;
    const user = id(ev.user_id) ?? 0;
    const sender = asEvent(ev.sender);
    const anonymous = asEvent(ev.anonymous);
    let name = displayName(sender) ?? (typeof anonymous?.name === "string" ? anonymous.name : undefined);
    if (name !== undefined && anonymous === undefined) this.o.names.remember(group, user, name);
    name ??= await this.o.names.lookup(group, user, this.o.signal);
    let text: string;
    let attachments: string[] = [];
    let replyTo: string | undefined;
    let media: MediaRef[] = [];
    let mentionsSelf = false;
    try {
      const segs = toSegments(ev.message);
      const names = new Map<string, string>();
      const selfQq = String(this.o.selfId() ?? id(ev.self_id) ?? "");
      for (const qq of new Set(mentionedIds(segs).filter((q) => q !== selfQq))) {
        const n = id(qq) === undefined ? undefined : await this.o.names.lookup(group, id(qq)!, this.o.signal);
        if (n !== undefined) names.set(qq, n);
      }
      const self = this.o.selfId() ?? id(ev.self_id);
      const r = renderSegments(segs, (qq) => names.get(qq), self === undefined || self === null ? undefined : String(self), String(group));
      text = r.text;
      attachments = r.attachments;
      media = r.media;
      mentionsSelf = r.mentionsSelf === true;
      if (r.replyTo !== undefined) replyTo = `${group}:${r.replyTo}`;
    } catch (err) {
      // Relayed as the server's own raw text rather than dropped.
      this.o.log.warn({ id: key, err: (err as Error).message }, "onebot11: unreadable message; relayed as raw text");
      text = typeof ev.raw_message === "string" ? ev.raw_message : `[unreadable message: ${String(JSON.stringify(ev.message)).slice(0, 200)}]`;
    }
    const stamped = typeof ev.time === "number" && Number.isFinite(ev.time) ? new Date(ev.time * 1000) : undefined;
    const time = stamped === undefined || Number.isNaN(stamped.getTime()) ? new Date() : stamped; // a time Date cannot hold: now
    return {
      id: key,
      group: String(group),
      senderId: String(user),
      senderName: name ?? String(user),
      text,
      ...(attachments.length > 0 ? { attachments } : {}),
      ...(replyTo === undefined ? {} : { replyTo }),
      ...(media.length > 0 ? { media } : {}),
      ...(mentionsSelf ? { mentionsSelf } : {}),
      time,
      ...(this.own(ev) ? { own: true } : {}),
    };
  }
}

/** An id from an event of unknown shape, for a log line or a key: never throws (a hostile `{toString: 0}` included). */
function idText(v: unknown): string {
  return typeof v === "string" || typeof v === "number" || typeof v === "bigint" || typeof v === "boolean" ? String(v) : "?";
}
