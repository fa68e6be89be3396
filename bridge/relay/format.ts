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
