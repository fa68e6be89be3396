// A Telegram Message (already checked by MessageSchema) as readable parts: sender name, text for
// every kind of message (media as a placeholder plus its caption), topic and reply ids.
import type { TgChat, TgMessage, TgUser } from "./schema.ts";

function str(v: string | undefined): string | undefined {
  return v !== undefined && v !== "" ? v : undefined;
}

/** "First Last", else "@username", else the id. */
export function userName(u: TgUser | undefined): string {
  if (!u) return "?";
  const full = [str(u.first_name), str(u.last_name)].filter((s) => s !== undefined).join(" ");
  if (full !== "") return full;
  const username = str(u.username);
  return username !== undefined ? `@${username}` : String(u.id);
}

function chatName(c: TgChat): string {
  return str(c.title) ?? (str(c.username) ? `@${c.username}` : String(c.id));
}

/** Who wrote it: an anonymous admin or a channel posts as a chat (sender_chat), everyone else as a user. */
export function sender(m: TgMessage): { id: string; name: string } {
  if (m.sender_chat) return { id: String(m.sender_chat.id), name: chatName(m.sender_chat) };
  return { id: m.from ? String(m.from.id) : "?", name: userName(m.from) };
}

const join = (...parts: (string | number | undefined)[]): string => parts.filter((p) => p !== undefined && p !== "").join(" ");

/** Media kinds in the order the Bot API documents them, with how each reads in a placeholder. */
const MEDIA: ((m: TgMessage) => string | undefined)[] = [
  (m) => (m.animation ? "[GIF]" : undefined),
  (m) => (m.audio ? `[${join("audio", str(m.audio.title))}]` : undefined),
  (m) => (m.document ? `[${join("file", str(m.document.file_name))}]` : undefined),
  (m) => (m.photo ? "[photo]" : undefined),
  (m) => (m.sticker ? `[${join("sticker", str(m.sticker.emoji))}]` : undefined),
  (m) => (m.story ? "[story]" : undefined),
  (m) => (m.video ? "[video]" : undefined),
  (m) => (m.video_note ? "[video message]" : undefined),
  (m) => (m.voice ? "[voice message]" : undefined),
  (m) => (m.contact ? `[${join("contact", join(str(m.contact.first_name), str(m.contact.last_name)), str(m.contact.phone_number))}]` : undefined),
  (m) => (m.dice ? `[${join("dice", str(m.dice.emoji), m.dice.value)}]` : undefined),
  (m) => (m.game ? `[${join("game", str(m.game.title))}]` : undefined),
  (m) => (m.poll ? `[poll: ${m.poll.question}]` : undefined),
  (m) => (m.venue ? `[${join("venue", str(m.venue.title))}${str(m.venue.address) ? `, ${m.venue.address}` : ""}]` : undefined),
  (m) => (m.location ? `[location ${m.location.latitude ?? "?"},${m.location.longitude ?? "?"}]` : undefined),
];

/**
 * The text of a message, or undefined for service messages (joins, pins, title changes…),
 * which the bridge does not relay.
 */
export function messageText(m: TgMessage): string | undefined {
  const text = str(m.text);
  if (text !== undefined) return text;
  for (const render of MEDIA) {
    const placeholder = render(m);
    if (placeholder === undefined) continue;
    const caption = str(m.caption);
    return caption === undefined ? placeholder : `${placeholder} ${caption}`;
  }
  return undefined;
}

/** The forum topic of a message: only a topic message's thread id names a topic (replies carry one too). */
export function topicOf(m: TgMessage): number | undefined {
  return m.is_topic_message === true ? m.message_thread_id : undefined;
}

/** The replied-to message id, unless the "reply" is only the topic's opening message. */
export function replyToId(m: TgMessage): number | undefined {
  const r = m.reply_to_message;
  if (!r) return undefined;
  if (m.is_topic_message === true && r.message_id === m.message_thread_id) return undefined;
  return r.message_id;
}
