// fetchMedia(): getFile turns a file_id into a path, then the bytes come from
// <api>/file/bot<token>/<path>. That URL carries the token: it is built here, used for one
// request (its token listed as a secret, so HTTPStream redacts it) and never logged, returned or
// put in an error. Size limits: the caller's maxBytes, and the Bot API's 20 MB for getFile.
import { extname, posix } from "node:path";
import { z } from "zod";
import { redactText, type HTTPStream } from "../../../src/index.ts";
import { SendError, type MediaRef } from "../../network.ts";
import { downloadMedia, mediaMime, tooBigError } from "../shared/media-download.ts";
import { ApiError, BadAnswerError, type BotApi } from "./api.ts";
import { call } from "./edit-delete.ts";

/** The largest file getFile lets a bot download. */
export const GETFILE_MAX_BYTES = 20 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 120_000;

const FileSchema = z.looseObject({ file_id: z.string(), file_size: z.number().int().nonnegative().optional().catch(undefined), file_path: z.string().min(1).optional() });

const MIME_BY_EXT: Record<string, string> = { ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp", ".mp4": "video/mp4", ".ogg": "audio/ogg", ".oga": "audio/ogg", ".mp3": "audio/mpeg", ".pdf": "application/pdf" };

function tooBig(name: string, size: number | undefined, limit: number): SendError {
  return tooBigError(`telegram: file "${name}"`, size, limit);
}

export async function fetchMedia(d: { stream: HTTPStream; api: BotApi; signal?: AbortSignal }, media: MediaRef, maxBytes: number): Promise<{ data: Uint8Array; mime: string; name: string }> {
  const limit = Math.min(maxBytes, GETFILE_MAX_BYTES);
  const label = media.name ?? "file";
  if (media.size !== undefined && media.size > limit) throw tooBig(label, media.size, limit);
  const secrets = [d.api.token];
  const clean = (err: unknown): string => redactText((err as Error)?.message ?? String(err), secrets);

  let file: z.infer<typeof FileSchema>;
  try {
    const parsed = FileSchema.safeParse(await call({ ...d, timeout: 30_000 }, "getFile", { file_id: media.ref }));
    if (!parsed.success) throw new BadAnswerError("getFile", 200, "not a File");
    file = parsed.data;
  } catch (err) {
    if (err instanceof SendError) throw err;
    if (err instanceof ApiError && err.code === 400 && /too big/i.test(err.description)) throw tooBig(label, media.size, GETFILE_MAX_BYTES);
    if (err instanceof ApiError && (err.code === 401 || err.code === 404)) throw new SendError(`telegram: getFile for "${label}": the Bot API refused the bot token`, "retry", { retryAfterMs: 60_000 });
    if (err instanceof ApiError && err.code === 429) throw new SendError(`telegram: getFile rate limited`, "retry", { retryAfterMs: err.retryAfterMs ?? 1_000 });
    // 400 wrong/invalid file_id: that file cannot be had; 5xx and the transport: later.
    if (err instanceof ApiError && err.code >= 400 && err.code < 500) throw new SendError(`telegram: getFile for "${label}": ${clean(err)}`, "fatal");
    throw new SendError(`telegram: getFile for "${label}": ${clean(err)}`, "retry");
  }
  if (file.file_size !== undefined && file.file_size > limit) throw tooBig(label, file.file_size, limit);
  if (file.file_path === undefined) throw new SendError(`telegram: getFile for "${label}" gave no file_path (the file cannot be downloaded)`, "fatal");

  const path = file.file_path.split("/").map(encodeURIComponent).join("/");
  // 4xx: the path expired (it is valid for an hour); the next try asks getFile again.
  const { data, type } = await downloadMedia(d.stream, { url: `${d.api.base}/file/bot${d.api.token}/${path}`, secrets, maxBytes: limit, label: `telegram: file "${label}"`, on4xx: "retry", timeoutMs: FETCH_TIMEOUT_MS, ...(d.signal ? { signal: d.signal } : {}) });
  const name = media.name ?? posix.basename(file.file_path);
  return { data, mime: mediaMime(media.mime, type, MIME_BY_EXT[extname(name).toLowerCase()]), name };
}
