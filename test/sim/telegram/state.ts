// The simulated bot account: its token and identity, the chats it is in, the update queue with
// Telegram's offset semantics, the messages it sent, injected faults and recorded violations.
// No HTTP here: routes.ts speaks the wire.
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { FaultDraw } from "../shared/fault-draw.ts";
import { atLeast, waitFor } from "../shared/wait-for.ts";

export interface SimUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  is_bot?: boolean;
}

export interface SimChat {
  id: number;
  title?: string;
  type?: "group" | "supergroup" | "channel" | "private";
  username?: string;
  /** A forum supergroup: messages in topics carry message_thread_id + is_topic_message. */
  forum?: boolean;
  /** Existing topic ids (message_thread_id) of a forum. */
  topics?: number[];
  /** The bot was removed: sends get 403. */
  kicked?: boolean;
  /** A basic group upgraded to this supergroup id: sends get 400 with migrate_to_chat_id. */
  migratedTo?: number;
  /** The bot is an admin with can_delete_messages: it may delete anyone's messages (else only its own). */
  canDeleteMessages?: boolean;
}

/** A message the chat holds, as the server keeps it (for replies, edits, deletes). */
export interface StoredMessage {
  chatId: number;
  messageId: number;
  /** The sender's user id; the bot's own id for what it sent. */
  fromId: number;
  /** Unix seconds on the sim's clock. */
  date: number;
  text?: string;
  caption?: string;
  /** A photo or document (then it has a caption, not a text). */
  media?: "photo" | "document";
  /** The forum topic it was said in. */
  threadId?: number;
  deleted?: boolean;
}

/** A file the server holds: getFile hands out its path, /file/bot<token>/<path> serves it. */
export interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  path: string;
  data: Uint8Array;
  /** What getFile says the size is, when the server is made to lie (default: the real size). */
  reportedSize?: number;
}

/** What the next getUpdates answers instead of its normal answer. */
export type PollFault =
  | "500" // {"ok":false,"error_code":500}
  | "502" // an HTML gateway page
  | "html" // an HTML page with status 200
  | "malformed" // truncated JSON with status 200
  | "reset" // socket destroyed without an answer
  | "stall" // never answered (until the client gives up)
  | "conflict" // 409 terminated by other getUpdates request
  | { retryAfter: number } // 429 with parameters.retry_after (seconds)
  | { result: unknown }; // {"ok":true,"result":<this>} as is (a server serving bodies of the wrong shape)

/**
 * What the next sendMessage answers. The common names (test/sim/shared/control.ts): `reset`,
 * `500`, `stall` fail BEFORE the message is sent (nothing delivered); `reset-after`, `500-after`,
 * `stall-after` fail AFTER it was sent (recorded in `sent`, echoed when echoOwn) with the answer lost.
 */
export type SendFault =
  | { retryAfter: number } // 429, not delivered
  | "reset" // not delivered, socket destroyed
  | "reset-before" // the same as "reset" (older name)
  | "500" // not delivered, {"ok":false,"error_code":500}
  | "stall" // not delivered, never answered (until the client gives up)
  | "503" // not delivered, HTML 503
  | "reset-after" // DELIVERED, then the socket is destroyed
  | "500-after" // DELIVERED, then {"ok":false,"error_code":500}
  | "stall-after" // DELIVERED, never answered
  | "502" // DELIVERED, then an HTML gateway page
  | "malformed"; // DELIVERED, body unreadable

export interface SentMessage {
  chatId: number;
  threadId?: number;
  text: string;
  messageId: number;
  /** sendPhoto / sendDocument: what was posted, with the bytes the server fetched from the URL. */
  media?: { kind: "photo" | "document"; url: string; data: Uint8Array; type: string };
  /** Every parameter as received (for checks like "no parse_mode"). */
  params: Record<string, unknown>;
}

export interface PollRecord {
  offset: number;
  limit: number;
  timeout: number;
  allowedUpdates: string | undefined;
  /** Milliseconds on the sim's clock (since it started) when the poll came in. */
  at: number;
}

interface QueuedUpdate {
  update_id: number;
  [type: string]: unknown;
}

export interface SimStateOptions {
  token?: string;
  bot?: { id?: number; first_name?: string; username?: string };
  chats?: SimChat[];
  firstUpdateId?: number;
  /** Echo the bot's own sends back as updates (the real server does not; tests the identity filter). */
  echoOwn?: boolean;
  /** The anti-busy-loop rule: a repeated offset within 3 s gets timeout ≥ 3 (default true, as the server). */
  busyLoopGuard?: boolean;
}

/** A realistic token: the bot id, a colon, 35 characters of base64url. */
export function randomToken(botId: number): string {
  return `${botId}:${randomBytes(27).toString("base64url").slice(0, 35)}`;
}

export const DEFAULT_CHATS: SimChat[] = [
  { id: -1001234567890, title: "Dev Group", type: "supergroup", username: "devgroup", forum: true, topics: [3, 7] },
  { id: -1009876543210, title: "Other Group", type: "supergroup" },
  { id: -4242, title: "Small Group", type: "group" },
];

export class SimState extends EventEmitter {
  token: string;
  readonly bot: SimUser;
  readonly chats: SimChat[];
  readonly echoOwn: boolean;
  readonly busyLoopGuard: boolean;
  /** Unconfirmed updates, ascending update_id. */
  readonly queue: QueuedUpdate[] = [];
  readonly sent: SentMessage[] = [];
  readonly polls: PollRecord[] = [];
  readonly pollFaults: PollFault[] = [];
  readonly sendFaults: SendFault[] = [];
  /** Send faults drawn per request when none is queued (POST /_sim/fault-rates). */
  readonly sendDraw = new FaultDraw();
  readonly violations: string[] = [];
  readonly counters = { getMe: 0, getUpdates: 0, sendMessage: 0, deleteWebhook: 0, unauthorized: 0, conflicts: 0, edits: 0, deletes: 0, getFile: 0, downloads: 0 };
  /** Every message of every chat, by "chatId:messageId". */
  readonly messages = new Map<string, StoredMessage>();
  /** Files by file_id. */
  readonly files = new Map<string, StoredFile>();
  /** Successful edits and deletes, in order. */
  readonly edits: { chatId: number; messageId: number; text: string }[] = [];
  readonly deleted: { chatId: number; messageId: number }[] = [];
  /** What the next file download does instead of serving the bytes. */
  readonly downloadFaults: ("reset" | "500" | "truncate")[] = [];
  /** Added to the clock messages are dated and aged on (tests move it past the 48 h delete limit). */
  clockOffsetMs = 0;
  webhook = "";
  /** How long the server holds each sendMessage before doing it (ms). */
  sendDelayMs = 0;
  /** Highest update_id handed out in an answer. */
  handedOut = 0;
  /** Every update below this was confirmed (and forgotten). */
  confirmedBelow = 0;
  previousOffset: number | null = null;
  previousStart = 0;
  private nextUpdateId: number;
  private readonly messageIds = new Map<number, number>();

  constructor(opts: SimStateOptions = {}) {
    super();
    const botId = opts.bot?.id ?? 7_000_000_001;
    this.bot = { id: botId, is_bot: true, first_name: opts.bot?.first_name ?? "Bridge", username: opts.bot?.username ?? "pollbridge_bot" };
    this.token = opts.token ?? randomToken(botId);
    this.chats = (opts.chats ?? DEFAULT_CHATS).map((c) => ({ ...c }));
    this.nextUpdateId = opts.firstUpdateId ?? 100;
    this.echoOwn = opts.echoOwn ?? false;
    this.busyLoopGuard = opts.busyLoopGuard ?? true;
  }

  private readonly started = performance.now();

  /** The sim's clock: ms since it started. */
  now(): number {
    return performance.now() - this.started;
  }

  violation(reason: string): void {
    this.violations.push(reason);
    this.emit("violation", reason);
  }

  /** The token stops working (revoked in @BotFather): every call answers 401. */
  revokeToken(): string {
    const old = this.token;
    this.token = randomToken(this.bot.id);
    return old;
  }

  chat(ref: string | number): SimChat | undefined {
    const s = String(ref);
    if (s.startsWith("@")) return this.chats.find((c) => c.username !== undefined && `@${c.username}`.toLowerCase() === s.toLowerCase());
    return this.chats.find((c) => String(c.id) === s);
  }

  private nextMessageId(chatId: number): number {
    const id = (this.messageIds.get(chatId) ?? 0) + 1;
    this.messageIds.set(chatId, id);
    return id;
  }

  /** Unix seconds on the sim's clock. */
  unixNow(): number {
    return Math.floor((Date.now() + this.clockOffsetMs) / 1000);
  }

  stored(chatId: number, messageId: number): StoredMessage | undefined {
    return this.messages.get(`${chatId}:${messageId}`);
  }

  store(m: StoredMessage): void {
    this.messages.set(`${m.chatId}:${m.messageId}`, m);
  }

  /** Puts a file on the server (what a user's upload would); returns its ids for a Message. */
  addFile(data: Uint8Array, path = `documents/file_${this.files.size}.bin`): { file_id: string; file_unique_id: string; file_size: number } {
    const fileId = `BQACAgI${randomBytes(24).toString("base64url")}`;
    const fileUniqueId = `AgAD${randomBytes(6).toString("base64url")}`;
    this.files.set(fileId, { fileId, fileUniqueId, path, data });
    return { file_id: fileId, file_unique_id: fileUniqueId, file_size: data.length };
  }

  /** Someone edits message `messageId` of `chat` to `text` (its text, or its caption for media): an edited_message update. */
  injectEdit(chat: string | number, messageId: number, text: string): number {
    const c = this.chat(chat);
    const m = c ? this.stored(c.id, messageId) : undefined;
    if (!c || !m) throw new Error(`sim: no message ${messageId} in ${String(chat)}`);
    if (m.media) m.caption = text;
    else m.text = text;
    const from = m.fromId === this.bot.id ? this.bot : { id: m.fromId, is_bot: false, first_name: `User ${m.fromId}` };
    const message = {
      message_id: m.messageId,
      from,
      chat: { id: c.id, type: c.type ?? "supergroup", ...(c.title ? { title: c.title } : {}) },
      date: m.date,
      edit_date: this.unixNow(),
      ...(m.media ? { caption: text } : { text }),
      ...(m.threadId === undefined ? {} : { message_thread_id: m.threadId, is_topic_message: true }),
    };
    return this.injectUpdate({ edited_message: message });
  }

  /** Queues a raw update (the id is assigned here). */
  injectUpdate(update: Record<string, unknown>): number {
    const update_id = this.nextUpdateId++;
    this.queue.push({ ...update, update_id });
    this.emit("queued");
    return update_id;
  }

  /**
   * Someone writes in a chat. `extra` is merged into the Message (photo, caption, sender_chat…).
   * Returns the update and message ids.
   */
  inject(m: { chat: string | number; from: SimUser | "self"; text?: string; thread?: number; replyTo?: number; date?: number; extra?: Record<string, unknown> }): { updateId: number; messageId: number } {
    const chat = this.chat(m.chat);
    if (!chat) throw new Error(`sim: no chat ${String(m.chat)}`);
    const messageId = this.nextMessageId(chat.id);
    const message: Record<string, unknown> = {
      message_id: messageId,
      from: m.from === "self" ? this.bot : { is_bot: false, ...m.from },
      chat: { id: chat.id, type: chat.type ?? "supergroup", ...(chat.title ? { title: chat.title } : {}), ...(chat.username ? { username: chat.username } : {}), ...(chat.forum ? { is_forum: true } : {}) },
      date: m.date ?? this.unixNow(),
      ...(m.text === undefined ? {} : { text: m.text }),
      ...(m.thread === undefined ? {} : { message_thread_id: m.thread, is_topic_message: true }),
      ...(m.replyTo === undefined ? {} : { reply_to_message: { message_id: m.replyTo, chat: { id: chat.id, type: chat.type ?? "supergroup" }, date: 0 } }),
      ...m.extra,
    };
    const extra = m.extra ?? {};
    this.store({
      chatId: chat.id,
      messageId,
      fromId: m.from === "self" ? this.bot.id : m.from.id,
      date: message.date as number,
      ...(m.text === undefined ? {} : { text: m.text }),
      ...(typeof extra.caption === "string" ? { caption: extra.caption } : {}),
      ...(m.thread === undefined ? {} : { threadId: m.thread }),
      ...(extra.photo !== undefined ? { media: "photo" as const } : extra.document !== undefined ? { media: "document" as const } : {}),
    });
    return { updateId: this.injectUpdate({ message }), messageId };
  }

  /** getUpdates' offset rule: a positive offset confirms every update below it; -N keeps the last N. */
  applyOffset(offset: number): void {
    if (offset > 0) {
      if (offset > this.handedOut + 1 && this.queue.some((u) => u.update_id > this.handedOut && u.update_id < offset)) {
        this.violation(`getUpdates: offset ${offset} confirms updates never handed out (last handed out: ${this.handedOut})`);
      }
      if (offset < this.confirmedBelow) this.violation(`getUpdates: offset ${offset} goes back behind the confirmed ${this.confirmedBelow}`);
      while (this.queue.length > 0 && this.queue[0]!.update_id < offset) this.queue.shift();
      this.confirmedBelow = Math.max(this.confirmedBelow, offset);
      this.emit("confirmed", this.confirmedBelow);
    } else if (offset < 0) {
      const keep = -offset;
      if (this.queue.length > keep) this.queue.splice(0, this.queue.length - keep);
    }
  }

  /** Updates an answer holds: from the offset (or the head), at most `limit`. */
  available(offset: number, limit: number): QueuedUpdate[] {
    return this.queue.filter((u) => offset <= 0 || u.update_id >= offset).slice(0, limit);
  }

  handOut(updates: QueuedUpdate[]): void {
    for (const u of updates) this.handedOut = Math.max(this.handedOut, u.update_id);
    this.emit("answered", updates.length);
  }

  recordSent(chat: SimChat, text: string, threadId: number | undefined, params: Record<string, unknown>, media?: SentMessage["media"]): SentMessage {
    const sent: SentMessage = { chatId: chat.id, text, messageId: this.nextMessageId(chat.id), params, ...(threadId === undefined ? {} : { threadId }), ...(media ? { media } : {}) };
    this.store({ chatId: chat.id, messageId: sent.messageId, fromId: this.bot.id, date: this.unixNow(), ...(media ? { media: media.kind, caption: text } : { text }) });
    this.sent.push(sent);
    if (this.echoOwn) this.inject({ chat: chat.id, from: "self", text, ...(threadId === undefined ? {} : { thread: threadId }) });
    this.emit("sent", sent);
    return sent;
  }

  /** Sent messages of a group key ("chat" or "chat/thread"), or all. */
  sentTo(group?: string): SentMessage[] {
    if (group === undefined) return [...this.sent];
    const [chatRef, thread] = group.split("/");
    const chat = this.chat(chatRef!);
    return this.sent.filter((m) => m.chatId === chat?.id && (thread === undefined || m.threadId === Number(thread)));
  }

  waitForSent(group: string, n = 1, signal?: AbortSignal): Promise<SentMessage[]> {
    return this.waitFor(() => atLeast(this.sentTo(group), n), ["sent"], signal);
  }

  /** Resolves once every update below `updateId + 1` was confirmed by a later offset. */
  waitForConfirmed(updateId: number, signal?: AbortSignal): Promise<void> {
    return this.waitFor(() => (this.confirmedBelow > updateId ? true : undefined), ["confirmed"], signal).then(() => undefined);
  }

  /** Resolves once `n` getUpdates requests arrived in all. */
  waitForPolls(n: number, signal?: AbortSignal): Promise<PollRecord[]> {
    return this.waitFor(() => atLeast(this.polls, n), ["poll"], signal);
  }

  /** Resolves when `check` returns a value, re-checked on the given events. */
  waitFor<T>(check: () => T | undefined, events: string[], signal?: AbortSignal): Promise<T> {
    return waitFor(this, check, events, signal);
  }
}
