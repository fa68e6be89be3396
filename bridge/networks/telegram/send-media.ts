// A send with a picture or file (SendOptions.media): sendPhoto / sendDocument with the URL for the
// server to fetch and the text as the caption. Where the server cannot take it (it could not
// fetch or read the URL, or the caption is over its 1024 characters), the text goes with the
// link instead: nothing is lost, only shown as a link.
import type { SendResult } from "../../network.ts";
import { ApiError } from "./api.ts";
import { call, type CallDeps } from "./edit-delete.ts";
import type { GroupTarget } from "./groups.ts";
import { messageKey } from "./inbound.ts";
import { sendError, sendMessage } from "./send.ts";

/** sendPhoto's and sendDocument's caption limit (characters after entities parsing). */
export const MAX_CAPTION_LENGTH = 1024;

/** Refusals that say the server did nothing with the URL (fetching, its type, the picture). */
const URL_REFUSED = /HTTP URL|web page content|file identifier|IMAGE_PROCESS_FAILED|PHOTO_INVALID|failed to get/i;

export interface MediaSend {
  kind: "image" | "file";
  url: string;
  name?: string;
}

/** The text with the link on a line of its own (what a chat without the file gets). */
export function withLink(text: string, url: string): string {
  return text === "" ? url : `${text}\n${url}`;
}

export async function sendMedia(d: CallDeps, target: GroupTarget, text: string, media: MediaSend, extra: Record<string, unknown>): Promise<SendResult> {
  const asLink = (): Promise<SendResult> => sendMessage(d.stream, d.api, target, withLink(text, media.url), { timeout: d.timeout, signal: d.signal, extra });
  if (text.length > MAX_CAPTION_LENGTH) return await asLink();
  const method = media.kind === "image" ? "sendPhoto" : "sendDocument";
  const params: Record<string, unknown> = {
    chat_id: target.chatId,
    [media.kind === "image" ? "photo" : "document"]: media.url,
    ...(text === "" ? {} : { caption: text }),
    ...(target.threadId === undefined ? {} : { message_thread_id: target.threadId }),
    ...extra,
  };
  let result: unknown;
  try {
    result = await call(d, method, params);
  } catch (err) {
    if (err instanceof ApiError && err.code === 400 && URL_REFUSED.test(err.description)) return await asLink();
    throw sendError(target, err);
  }
  const id = (result as { message_id?: unknown } | null)?.message_id;
  return { id: typeof id === "number" && Number.isInteger(id) ? messageKey(target.key, id) : "" };
}
