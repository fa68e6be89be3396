// The pictures and files of a Telegram message as MediaRefs. The ref is the file_id: getFile turns
// it into a download path later (fetch-media.ts). The file URL is never made here: it carries the
// bot token, and a MediaRef is stored in the outbox and may show in logs.
import { z } from "zod";
import type { MediaRef } from "../../network.ts";
import type { TgMessage } from "./schema.ts";

const size = z.number().int().nonnegative().optional().catch(undefined);
const PhotoSize = z.looseObject({ file_id: z.string().min(1), file_unique_id: z.string().optional(), width: z.number().optional(), height: z.number().optional(), file_size: size });
const Document = z.looseObject({ file_id: z.string().min(1), file_unique_id: z.string().optional(), file_name: z.string().optional(), mime_type: z.string().optional(), file_size: size });

/** A name for a photo (Telegram gives none; photos are always JPEG). */
function photoName(p: z.infer<typeof PhotoSize>): string {
  return `photo_${(p.file_unique_id ?? p.file_id).replace(/[^\w-]/g, "").slice(0, 40) || "telegram"}.jpg`;
}

/**
 * The message's photo (its largest size), document, GIF, video, audio, voice message or static
 * sticker, if any, in a readable shape. One of another shape gives none: the text placeholder
 * ("[photo]") still says it was there.
 */
export function mediaOf(m: TgMessage): MediaRef[] {
  if (Array.isArray(m.photo) && m.photo.length > 0) {
    const sizes = m.photo.map((p) => PhotoSize.safeParse(p)).filter((r) => r.success).map((r) => r.data);
    // The Bot API lists the sizes smallest first; the last readable one is the original.
    const best = sizes.at(-1);
    if (!best) return [];
    return [{ kind: "image", ref: best.file_id, name: photoName(best), mime: "image/jpeg", ...(best.file_size === undefined ? {} : { size: best.file_size }) }];
  }
  // One file at most per message; a static sticker is a WebP picture (animated ones are not pictures).
  const sticker = m.sticker && m.sticker.is_animated !== true && m.sticker.is_video !== true ? { ...m.sticker, mime_type: "image/webp" } : undefined;
  const files: [unknown, string, string][] = [
    [m.document, "file", ""],
    [m.animation, "animation", ".mp4"],
    [m.video, "video", ".mp4"],
    [m.audio, "audio", ".mp3"],
    [m.voice, "voice", ".ogg"],
    [m.video_note, "video_note", ".mp4"],
    [sticker, "sticker", ".webp"],
  ];
  for (const [raw, what, ext] of files) {
    if (raw === undefined) continue;
    const d = Document.safeParse(raw);
    if (!d.success) return [];
    const mime = d.data.mime_type !== undefined && d.data.mime_type !== "" ? d.data.mime_type : undefined;
    const named = d.data.file_name !== undefined && d.data.file_name !== "" ? d.data.file_name : undefined;
    return [
      {
        kind: mime?.startsWith("image/") ? "image" : "file",
        ref: d.data.file_id,
        name: named ?? (what === "file" ? "file" : `${what}_${(d.data.file_unique_id ?? "").replace(/[^\w-]/g, "").slice(0, 40) || "telegram"}${ext}`),
        ...(mime === undefined ? {} : { mime }),
        ...(d.data.file_size === undefined ? {} : { size: d.data.file_size }),
      },
    ];
  }
  return [];
}
