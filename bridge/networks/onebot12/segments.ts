// OneBot 12 message segments (protocols.md §3 "Events"; message/type.md) to readable text and back.
import type { MediaRef } from "../../network.ts";

export interface Segment {
  type: string;
  data: Record<string, unknown>;
}

export interface Rendered {
  text: string;
  attachments: string[];
  /** The platform message id a `reply` segment points at. */
  replyTo?: string;
  /** Pictures and files (ref: mediaRefOf their file_id, resolved by get_file when fetched). */
  media: MediaRef[];
  /** A `mention` of our own bot was in it (taken out of the text). */
  mentionsSelf?: boolean;
}

const FILE_REF = "file_id:";

/** A MediaRef's ref for a file_id: opaque, no URL (get_file gives a fresh one when it is fetched). */
export function mediaRefOf(fileId: string): string {
  return `${FILE_REF}${fileId}`;
}

/** The file_id of a ref mediaRefOf made; undefined for any other ref. */
export function fileIdOfRef(ref: string): string | undefined {
  return ref.startsWith(FILE_REF) && ref.length > FILE_REF.length ? ref.slice(FILE_REF.length) : undefined;
}

/** Lookups a rendering may need; both may fail, the rendering then falls back to ids. */
export interface RenderLookups {
  /** Display name of a mentioned user. */
  userName(userId: string): Promise<string | undefined>;
  /** A URL for a file_id (get_file type "url"). */
  fileUrl(fileId: string): Promise<string | undefined>;
  /** Our bot's user_id: a mention of it is taken out and flagged. */
  selfId?: string;
}

const MEDIA_LABELS: Readonly<Record<string, string>> = {
  image: "image",
  voice: "voice",
  audio: "audio",
  video: "video",
  file: "file",
};

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}

/** Whether a value is a segment array as the spec requires in events. */
export function isSegmentArray(v: unknown): v is Segment[] {
  return Array.isArray(v) && v.every((s) => typeof s === "object" && s !== null && typeof s.type === "string" && typeof s.data === "object" && s.data !== null);
}

/**
 * Renders an event's `message`. A message that is not a segment array falls back to
 * `alt_message` (the implementation's own readable rendering), so nothing is dropped.
 */
export async function renderMessage(message: unknown, altMessage: unknown, lookups: RenderLookups): Promise<Rendered> {
  if (!isSegmentArray(message)) {
    const alt = str(altMessage);
    if (alt !== undefined) return { text: alt, attachments: [], media: [] };
    throw new Error("message is not a segment array and there is no alt_message");
  }
  let text = "";
  const attachments: string[] = [];
  const media: MediaRef[] = [];
  let replyTo: string | undefined;
  let mentionsSelf = false;
  let trimNext = false; // the space after a mention of us that was taken out
  for (const seg of message) {
    const d = seg.data;
    const afterSelf = trimNext;
    trimNext = false;
    switch (seg.type) {
      case "text":
        text += afterSelf && text.trim() === "" ? (str(d.text) ?? "").replace(/^ /, "") : (str(d.text) ?? "");
        break;
      case "mention": {
        const id = str(d.user_id) ?? "?";
        if (lookups.selfId !== undefined && id === lookups.selfId) {
          mentionsSelf = true;
          trimNext = true;
          break;
        }
        text += `@${(await lookups.userName(id).catch(() => undefined)) ?? id}`;
        break;
      }
      case "mention_all":
        text += "@all";
        break;
      case "reply":
        replyTo = str(d.message_id);
        break;
      case "location":
        text += `[location: ${str(d.title) ?? `${str(d.latitude)},${str(d.longitude)}`}]`;
        break;
      case "image":
      case "file": {
        const fileId = str(d.file_id);
        if (fileId !== undefined && fileId !== "") {
          const name = str(d.name);
          media.push({ kind: seg.type, ref: mediaRefOf(fileId), ...(name === undefined || name === "" ? {} : { name }) });
        } else text += `[${seg.type}]`;
        break;
      }
      default: {
        const label = MEDIA_LABELS[seg.type];
        if (label === undefined) {
          text += `[${seg.type}]`; // an extension (e.g. qq.face) or a type this bridge does not know
          break;
        }
        // Some implementations put a url in the segment; otherwise ask for one by file_id.
        const fileId = str(d.file_id);
        const url = str(d.url) ?? (fileId === undefined ? undefined : await lookups.fileUrl(fileId).catch(() => undefined));
        if (url !== undefined && url !== "") attachments.push(url);
        text += `[${label}]`;
      }
    }
  }
  return { text, attachments, media, ...(replyTo === undefined ? {} : { replyTo }), ...(mentionsSelf ? { mentionsSelf } : {}) };
}

/** The message of a send: one text segment (a plain text sent as is, no markup interpreted). */
export function textToSegments(text: string): Segment[] {
  return [{ type: "text", data: { text } }];
}
