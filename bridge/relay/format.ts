// Message templates: "<{nick}> {text}" by default. Placeholders are replaced in one pass, so a
// nick or text that itself contains "{text}" is never expanded again.

export const DEFAULT_FORMAT = "<{nick}> {text}";

export interface FormatFields {
  nick: string;
  text: string;
  /** Source network id ("xmpp" for the room side). */
  network: string;
  /** Source group (the room JID for the room side). */
  group: string;
  /** Original time of the message. */
  time: Date;
}

const PLACEHOLDER = /\{(nick|text|network|group|time)\}/g;

/** "2026-11-22 10:03 UTC": minute precision is what a reader of a chat needs. */
export function formatTime(time: Date): string {
  if (Number.isNaN(time.getTime())) return "unknown time"; // a bad timestamp must not lose the message
  return `${time.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function formatMessage(template: string, f: FormatFields): string {
  return template.replace(PLACEHOLDER, (_, name: keyof FormatFields) => (name === "time" ? formatTime(f.time) : f[name]));
}

/** A catch-up message (relayed late, from room history) carries its original time up front. */
export function markLate(line: string, time: Date): string {
  return `[${formatTime(time)}] ${line}`;
}

/** The text of an inbound network message: attachments become URL lines after the text. */
export function withAttachments(text: string, attachments: readonly string[] | undefined): string {
  if (!attachments?.length) return text;
  return [text, ...attachments].filter((s) => s !== "").join("\n");
}

/** The mark of a correction sent as a new message (the target cannot edit the original). */
export const CORRECTION_MARK = "(correction)";

/** A quote of a replied message, for a target that gets no native reply: "> alice: hi…". */
export function quoteOf(author: string, excerpt: string): string {
  return `> ${author}: ${excerpt}`;
}

/** "12 B", "3.4 KB", "1.2 MB": what a reader needs to know of a file's size. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** A picture or file shown as text, where it cannot be posted itself: "[image cat.jpg, 1.2 MB]". */
export function mediaNote(m: { kind: "image" | "file"; name?: string; size?: number }): string {
  const what = [m.name, m.size !== undefined ? formatBytes(m.size) : undefined].filter((s) => s !== undefined && s !== "");
  return what.length ? `[${m.kind} ${what.join(", ")}]` : `[${m.kind}]`;
}

const IMAGE_EXT = /\.(png|jpe?g|gif|webp|avif|bmp|heic)$/i;
const FILE_EXT = /\.(png|jpe?g|gif|webp|avif|bmp|heic|mp4|webm|mov|mkv|mp3|ogg|oga|opus|m4a|wav|flac|pdf|zip|7z|rar|gz|tar|txt|docx?|xlsx?|pptx?|apk)$/i;

/**
 * A room message that is a file: its XEP-0066 URL, or a body that is only one http(s) link whose
 * path ends in a file extension. undefined for anything else (a link in a sentence is text).
 */
export function fileOf(body: string, oob?: { url: string; desc?: string }): { kind: "image" | "file"; url: string; name?: string; desc?: string } | undefined {
  const url = oob?.url ?? body.trim();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
  if (!oob && (/\s/.test(url) || !FILE_EXT.test(parsed.pathname))) return undefined;
  const last = parsed.pathname.split("/").pop() ?? "";
  let name: string | undefined;
  try {
    name = decodeURIComponent(last) || undefined;
  } catch {
    name = last || undefined;
  }
  return { kind: IMAGE_EXT.test(parsed.pathname) ? "image" : "file", url, name, ...(oob?.desc ? { desc: oob.desc } : {}) };
}
