// The Bot API calls of rich messages as the server answers them: sendPhoto / sendDocument (the
// server fetches an http(s) URL itself, or takes a known file_id), editMessageText /
// editMessageCaption, deleteMessage (own messages, or anyone's with can_delete_messages; never
// after 48 h), getFile and the file download at /file/bot<token>/<path>.
import type { IncomingMessage, ServerResponse } from "node:http";
import { checkReply, fail, faultAfter, faultBefore, integer, ok, targetChat, type RouteContext } from "./routes.ts";
import type { SimChat, SimState, StoredMessage } from "./state.ts";

export const MAX_CAPTION_LENGTH = 1024;
/** Photos by URL: at most 5 MB; other files by URL: 20 MB (the Bot API's "Sending files"). */
export const PHOTO_URL_MAX = 5 * 1024 * 1024;
export const FILE_URL_MAX = 20 * 1024 * 1024;
export const GETFILE_MAX = 20 * 1024 * 1024;
const DELETE_WINDOW_S = 48 * 3600;

function chatJson(chat: SimChat): Record<string, unknown> {
  return { id: chat.id, type: chat.type ?? "supergroup", ...(chat.title ? { title: chat.title } : {}) };
}

/** What the server gets when it fetches a URL for a send, or the refusal's description. */
async function fetchUrl(url: string, max: number): Promise<{ data: Uint8Array; type: string } | string> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: "follow" });
  } catch {
    return "Bad Request: failed to get HTTP URL content";
  }
  if (!res.ok) {
    await res.body?.cancel();
    return "Bad Request: failed to get HTTP URL content";
  }
  const data = new Uint8Array(await res.arrayBuffer());
  if (data.length > max) return "Bad Request: failed to get HTTP URL content";
  return { data, type: (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase() };
}

export async function sendMedia(res: ServerResponse, p: Record<string, unknown>, ctx: RouteContext, kind: "photo" | "document"): Promise<void> {
  const { state } = ctx;
  state.counters.sendMessage++;
  const target = targetChat(res, p, state);
  if (!target) return;
  const { chat, threadId } = target;
  const ref = p[kind];
  if (typeof ref !== "string" || ref === "") return fail(res, 400, `Bad Request: there is no ${kind} in the request`);
  const caption = typeof p.caption === "string" ? p.caption : "";
  if (caption.length > MAX_CAPTION_LENGTH) return fail(res, 400, "Bad Request: message caption is too long");
  if (!checkReply(res, p, chat, state)) return;
  if (p.parse_mode !== undefined) state.violation(`send${kind}: parse_mode ${String(p.parse_mode)} on a relayed caption`);
  const fault = state.sendFaults.shift();
  if (faultBefore(fault, res, ctx)) return;
  let got: { data: Uint8Array; type: string };
  if (/^https?:\/\//i.test(ref)) {
    const fetched = await fetchUrl(ref, kind === "photo" ? PHOTO_URL_MAX : FILE_URL_MAX);
    if (typeof fetched === "string") return fail(res, 400, fetched);
    if (kind === "photo" && !fetched.type.startsWith("image/")) return fail(res, 400, "Bad Request: wrong type of the web page content");
    got = fetched;
  } else {
    const f = state.files.get(ref);
    if (!f) return fail(res, 400, "Bad Request: wrong file identifier/HTTP URL specified");
    got = { data: f.data, type: "application/octet-stream" };
  }
  const sent = state.recordSent(chat, caption, threadId, p, { kind, url: ref, data: got.data, type: got.type });
  const file = state.addFile(got.data, kind === "photo" ? `photos/file_${state.files.size}.jpg` : `documents/file_${state.files.size}`);
  if (faultAfter(fault, res, ctx)) return;
  ok(res, {
    message_id: sent.messageId,
    from: state.bot,
    chat: chatJson(chat),
    date: state.unixNow(),
    ...(kind === "photo" ? { photo: [{ ...file, width: 1, height: 1 }] } : { document: { ...file, file_name: "file", mime_type: got.type || "application/octet-stream" } }),
    ...(caption === "" ? {} : { caption }),
    ...(threadId === undefined ? {} : { message_thread_id: threadId, is_topic_message: true }),
  });
}

/** The stored message a call names, or undefined once "… not found" was answered. */
function named(res: ServerResponse, p: Record<string, unknown>, state: SimState, chat: SimChat, what: "edit" | "delete"): StoredMessage | undefined {
  const id = integer(p.message_id, 0);
  const m = state.stored(chat.id, id);
  if (!m || m.deleted) return void fail(res, 400, `Bad Request: message to ${what} not found`);
  return m;
}

export function editMessage(res: ServerResponse, p: Record<string, unknown>, ctx: RouteContext, field: "text" | "caption"): void {
  const { state } = ctx;
  state.counters.edits++;
  const target = targetChat(res, p, state);
  if (!target) return;
  const text = typeof p[field] === "string" ? (p[field] as string) : "";
  if (field === "text" && text.trim() === "") return fail(res, 400, "Bad Request: message text is empty");
  if (field === "text" && text.length > 4096) return fail(res, 400, "Bad Request: MESSAGE_TOO_LONG");
  if (field === "caption" && text.length > MAX_CAPTION_LENGTH) return fail(res, 400, "Bad Request: message caption is too long");
  const m = named(res, p, state, target.chat, "edit");
  if (!m) return;
  // A bot edits only what it sent.
  if (m.fromId !== state.bot.id) return fail(res, 400, "Bad Request: message can't be edited");
  if (field === "text" && m.media) return fail(res, 400, "Bad Request: there is no text in the message to edit");
  if (field === "caption" && !m.media) return fail(res, 400, "Bad Request: there is no caption in the message to edit");
  if ((field === "text" ? m.text : m.caption ?? "") === text) {
    return fail(res, 400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message");
  }
  const fault = state.sendFaults.shift();
  if (faultBefore(fault, res, ctx)) return;
  if (field === "text") m.text = text;
  else m.caption = text;
  state.edits.push({ chatId: m.chatId, messageId: m.messageId, text });
  state.emit("edited", m);
  if (faultAfter(fault, res, ctx)) return;
  ok(res, { message_id: m.messageId, from: state.bot, chat: chatJson(target.chat), date: m.date, edit_date: state.unixNow(), ...(field === "text" ? { text } : { caption: text }) });
}

export function deleteMessage(res: ServerResponse, p: Record<string, unknown>, ctx: RouteContext): void {
  const { state } = ctx;
  state.counters.deletes++;
  const target = targetChat(res, p, state);
  if (!target) return;
  const m = named(res, p, state, target.chat, "delete");
  if (!m) return;
  if (state.unixNow() - m.date >= DELETE_WINDOW_S) return fail(res, 400, "Bad Request: message can't be deleted");
  if (m.fromId !== state.bot.id && !target.chat.canDeleteMessages) return fail(res, 400, "Bad Request: message can't be deleted");
  const fault = state.sendFaults.shift();
  if (faultBefore(fault, res, ctx)) return;
  m.deleted = true;
  state.deleted.push({ chatId: m.chatId, messageId: m.messageId });
  state.emit("deleted", m);
  if (faultAfter(fault, res, ctx)) return;
  ok(res, true);
}

export function getFile(res: ServerResponse, p: Record<string, unknown>, ctx: RouteContext): void {
  const { state } = ctx;
  state.counters.getFile++;
  const id = typeof p.file_id === "string" ? p.file_id : "";
  if (id === "") return fail(res, 400, "Bad Request: file_id not specified");
  const f = state.files.get(id);
  if (!f) return fail(res, 400, "Bad Request: invalid file_id");
  if (f.data.length > GETFILE_MAX) return fail(res, 400, "Bad Request: file is too big");
  ok(res, { file_id: f.fileId, file_unique_id: f.fileUniqueId, file_size: f.reportedSize ?? f.data.length, file_path: f.path });
}

/** GET /file/bot<token>/<path>: the bytes of a file getFile named. */
export function fileDownload(req: IncomingMessage, res: ServerResponse, url: URL, ctx: RouteContext): void {
  const { state } = ctx;
  const m = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
  if (!m || req.method !== "GET") return fail(res, 404, "Not Found");
  if (decodeURIComponent(m[1]!) !== state.token) return fail(res, 401, "Unauthorized");
  const path = m[2]!.split("/").map(decodeURIComponent).join("/");
  const f = [...state.files.values()].find((x) => x.path === path);
  if (!f) return fail(res, 404, "Not Found");
  state.counters.downloads++;
  const fault = state.downloadFaults.shift();
  if (fault === "reset") return void res.socket?.destroy();
  if (fault === "500") return fail(res, 500, "Internal Server Error");
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": f.data.length });
  if (fault === "truncate") {
    // Half the bytes, then the connection drops.
    res.write(f.data.subarray(0, Math.floor(f.data.length / 2)));
    return void setImmediate(() => res.socket?.destroy());
  }
  res.end(f.data);
}

