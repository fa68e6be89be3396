// A Telegram Message as the relay's InboundMessage: sender name, readable text for every kind
// of message (media as a placeholder plus its caption), topic and reply ids. Never throws on an
// odd shape: what cannot be read is said in the text.

/** The Message fields the bridge reads (Bot API "Message"). */
export interface TgMessage {
  message_id?: unknown;
  message_thread_id?: unknown;
  is_topic_message?: unknown;
  from?: unknown;
  sender_chat?: unknown;
  chat?: unknown;
  date?: unknown;
  text?: unknown;
  caption?: unknown;
  reply_to_message?: unknown;
  [kind: string]: unknown;
}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** "First Last", else "@username", else the id. */
export function userName(user: unknown): string {
  const u = obj(user);
  if (!u) return "?";
  const full = [str(u.first_name), str(u.last_name)].filter((s) => s !== undefined).join(" ");
  if (full !== "") return full;
  const username = str(u.username);
  return username !== undefined ? `@${username}` : String(u.id ?? "?");
}

/** Who wrote it: an anonymous admin or a channel posts as a chat (sender_chat), everyone else as a user. */
export function sender(m: TgMessage): { id: string; name: string } {
  const chat = obj(m.sender_chat);
  if (chat) return { id: String(chat.id ?? "?"), name: str(chat.title) ?? (str(chat.username) ? `@${String(chat.username)}` : String(chat.id ?? "?")) };
  const from = obj(m.from);
  return { id: String(from?.id ?? "?"), name: userName(from) };
}

/** Media kinds in the order the Bot API documents them, with how each reads in a placeholder. */
const MEDIA: [string, (v: Obj) => string][] = [
  ["animation", () => "[GIF]"],
  ["audio", (v) => `[audio${str(v.title) ? ` ${String(v.title)}` : ""}]`],
  ["document", (v) => `[file${str(v.file_name) ? ` ${String(v.file_name)}` : ""}]`],
  ["photo", () => "[photo]"],
  ["sticker", (v) => `[sticker${str(v.emoji) ? ` ${String(v.emoji)}` : ""}]`],
  ["story", () => "[story]"],
  ["video", () => "[video]"],
  ["video_note", () => "[video message]"],
  ["voice", () => "[voice message]"],
  ["contact", (v) => `[contact ${[str(v.first_name), str(v.last_name)].filter(Boolean).join(" ")}${str(v.phone_number) ? ` ${String(v.phone_number)}` : ""}]`],
  ["dice", (v) => `[dice ${String(v.emoji ?? "")} ${String(v.value ?? "")}]`],
  ["game", (v) => `[game ${String(v.title ?? "")}]`],
  ["poll", (v) => `[poll: ${String(v.question ?? "")}]`],
  ["venue", (v) => `[venue ${String(v.title ?? "")}${str(v.address) ? `, ${String(v.address)}` : ""}]`],
  ["location", (v) => `[location ${String(v.latitude ?? "?")},${String(v.longitude ?? "?")}]`],
];

/**
 * The text of a message, or undefined for service messages (joins, pins, title changes…),
 * which the bridge does not relay.
 */
export function messageText(m: TgMessage): string | undefined {
  const text = str(m.text);
  if (text !== undefined) return text;
  for (const [kind, render] of MEDIA) {
    const v = m[kind];
    if (v === undefined || v === null) continue;
    const placeholder = render(obj(v) ?? {}).replace(/\s+\]$/, "]");
    const caption = str(m.caption);
    return caption === undefined ? placeholder : `${placeholder} ${caption}`;
  }
  return undefined;
}

/** The forum topic of a message: only a topic message's thread id names a topic (replies carry one too). */
export function topicOf(m: TgMessage): number | undefined {
  return m.is_topic_message === true && typeof m.message_thread_id === "number" ? m.message_thread_id : undefined;
}

/** The chat a message was posted in: id as a string, type, username. */
export function chatOf(m: TgMessage): { id: string; type: string; username?: string } | undefined {
  const c = obj(m.chat);
  if (!c || (typeof c.id !== "number" && typeof c.id !== "string")) return undefined;
  return { id: String(c.id), type: String(c.type ?? ""), ...(str(c.username) ? { username: String(c.username) } : {}) };
}

/** The replied-to message id, unless the "reply" is only the topic's opening message. */
export function replyToId(m: TgMessage): number | undefined {
  const r = obj(m.reply_to_message);
  if (!r || typeof r.message_id !== "number") return undefined;
  if (m.is_topic_message === true && r.message_id === m.message_thread_id) return undefined;
  return r.message_id;
}
