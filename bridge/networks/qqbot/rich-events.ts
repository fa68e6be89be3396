// The rich parts of QQ bot events (protocols.md §6.3): pictures and files (`attachments`) as
// media, the quoted message (`message_reference`) as replyTo, @-mentions (`<@!id>` in guild
// text) as names, and a guild channel's MESSAGE_DELETE / PUBLIC_MESSAGE_DELETE as a retraction.
// Groups send no delete event, so their recalls reach the relay no other way.
import type { InboundMessage, MediaRef } from "../../network.ts";

export const DELETE_EVENTS = new Set(["MESSAGE_DELETE", "PUBLIC_MESSAGE_DELETE"]);

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : undefined);
const obj = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * The attachments of a message as media. The ref is the attachment's download URL: it carries the
 * platform's short-lived download key for this one file, never the bot's token or secret (fetchMedia
 * sends no credentials to it). Guild URLs come without a scheme.
 */
export function mediaOf(d: Record<string, unknown>): MediaRef[] {
  const list = Array.isArray(d.attachments) ? d.attachments : [];
  const out: MediaRef[] = [];
  for (const raw of list) {
    const a = obj(raw);
    const u = str(a.url);
    if (!u) continue;
    const url = /^https?:\/\//i.test(u) ? u : `https://${u.replace(/^\/+/, "")}`;
    const type = str(a.content_type)?.toLowerCase();
    const size = typeof a.size === "number" && Number.isInteger(a.size) && a.size >= 0 ? a.size : undefined;
    const isImage = type?.startsWith("image/") === true || type === "image";
    out.push({
      kind: isImage ? "image" : "file",
      ref: url,
      name: str(a.filename) ?? (isImage ? "image" : "file"),
      ...(type !== undefined && type.includes("/") ? { mime: type } : {}),
      ...(size === undefined ? {} : { size }),
    });
  }
  return out;
}

/** What a message with media and no text reads as ("[image]", "[file a.pdf]"), never an empty line. */
export function mediaText(media: MediaRef[]): string {
  return media.map((m) => (m.kind === "image" ? "[image]" : `[file ${m.name ?? ""}]`.replace(" ]", "]"))).join(" ");
}

/** The id of the quoted message, where the event has one. */
export function replyOf(d: Record<string, unknown>): string | undefined {
  return str(obj(d.message_reference).message_id);
}

/** Guild text: `<@!id>` / `<@id>` of a member listed in `mentions` reads "@name". */
export function mentionNames(text: string, d: Record<string, unknown>): string {
  const names = new Map<string, string>();
  for (const m of Array.isArray(d.mentions) ? d.mentions : []) {
    const id = str(obj(m).id);
    const name = str(obj(m).username);
    if (id && name) names.set(id, name);
  }
  if (names.size === 0) return text;
  return text.replace(/<@!?(\w+)>/g, (all, id: string) => (names.has(id) ? `@${names.get(id)}` : all));
}

/**
 * A guild channel message deleted (by its author, or by an admin: `op_user`): a retraction of the
 * message's id. undefined when the event lacks the ids.
 */
export function readDelete(d: Record<string, unknown>, botId: string | undefined): { group: string; msg: InboundMessage } | undefined {
  const message = obj(d.message);
  const id = str(message.id);
  const channel = str(message.channel_id);
  if (!id || !channel) return undefined;
  const op = obj(d.op_user);
  const author = obj(message.author);
  const by = str(op.id) ?? str(author.id) ?? "?";
  const group = `channel:${channel}`;
  return {
    group,
    msg: {
      id: `${id}:deleted`,
      group,
      senderId: by,
      senderName: str(op.username) ?? str(author.username) ?? by,
      text: "",
      kind: "retract",
      ref: id,
      time: new Date(),
      // Our own recall coming back: never relayed.
      ...(botId !== undefined && by === botId ? { own: true } : {}),
    },
  };
}
