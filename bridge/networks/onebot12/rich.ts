// Replies, mentions, pictures, files and deletes on OneBot 12 (issue 14), behind the
// NetworkAdapter contract: a send's segments (`reply` first, `mention` for an "@Name" of a member,
// a picture or file uploaded by URL with upload_file and sent as `image` / `file` by its file_id,
// then the caption), delete_message and what its failures mean, and media downloads through
// get_file. OneBot has no edit: features.edit is false.
import { SendError, type MediaRef, type SendOptions } from "../../network.ts";
import { fetchMediaRef, type FetchedMedia } from "../shared/media-download.ts";
import { splitMentions, type MentionMember } from "../shared/mentions.ts";
import type { HTTPStream } from "../../../src/index.ts";
import { ActionError } from "./action.ts";
import { displayName, type MemberInfo } from "./members.ts";
import { classifySendFailure, classifySendTransportError } from "./retcode.ts";
import { fileIdOfRef, type Segment } from "./segments.ts";

export const ONEBOT12_FEATURES = { reply: true, edit: false, retract: true, media: true, mention: true } as const;

const MEMBERS_TTL_MS = 10 * 60_000;

/** How one action is called (index.ts's `call`, with our `self`). */
export type Call = (action: string, params: Record<string, unknown>, o?: { retrySafe?: boolean; retry?: false; timeout?: number }) => Promise<unknown>;

/** `group:message_id` → the message_id. */
export function messageIdOf(group: string, id: string): string {
  const prefix = `${group}:`;
  const raw = id.startsWith(prefix) ? id.slice(prefix.length) : "";
  if (raw === "") throw new SendError(`onebot12: message id "${id}" is not of group ${group}`, "fatal");
  return raw;
}

/** The text with each "@Name" of a member as a `mention` segment. */
export function textSegments(text: string, members: readonly MentionMember[]): Segment[] {
  return splitMentions(text, members).map((p) => ("mention" in p ? { type: "mention", data: { user_id: p.mention } } : { type: "text", data: { text: p.text } }));
}

/** Words of a delete_message failure that say the message is already gone. */
const GONE = /not found|no such message|不存在|already (deleted|recalled)|已撤回/i;
/** Words that say the bot may not delete it. */
const NO_RIGHT = /permission|权限|not allowed|not admin|forbidden/i;

/** A file name for an upload: the given one, else the URL's last segment, else "image" / "file". */
function uploadName(media: NonNullable<SendOptions["media"]>): string {
  if (media.name) return media.name;
  try {
    const last = decodeURIComponent(new URL(media.url).pathname.split("/").pop() ?? "");
    if (last !== "") return last;
  } catch {
    // the implementation refuses a bad URL itself
  }
  return media.kind;
}

/** A failed action outside a send: its SendError kind (a repeat is harmless, so "maybe" is a plain retry). */
function failure(err: unknown, what: string): SendError {
  if (err instanceof SendError) return err;
  if (err instanceof ActionError) {
    const v = classifySendFailure(err.failure);
    return new SendError(`${what}: ${v.reason}`, v.kind === "unknown" ? "retry" : v.kind, { cause: err, retryAfterMs: v.retryAfterMs ?? (v.kind === "unknown" ? 5_000 : undefined) });
  }
  const kind = classifySendTransportError(err);
  return new SendError(`${what}: ${(err as Error).message}`, "retry", { cause: err, ...(kind === "unknown" ? { retryAfterMs: 5_000 } : {}) });
}

export class Onebot12Rich {
  private readonly call: Call;
  private readonly members = new Map<string, { at: number; list: MentionMember[] }>();

  constructor(call: Call) {
    this.call = call;
  }

  /** The group's members by display name; [] when the server cannot say (the @ stays text). */
  async memberList(group: string): Promise<MentionMember[]> {
    const hit = this.members.get(group);
    if (hit && Date.now() - hit.at < MEMBERS_TTL_MS) return hit.list;
    try {
      const data = await this.call("get_group_member_list", { group_id: group }, { retrySafe: true, timeout: 5_000 });
      const list = (Array.isArray(data) ? data : []).flatMap((m: MemberInfo) => {
        const name = displayName(m);
        const id = typeof m?.user_id === "string" ? m.user_id : typeof m?.user_id === "number" ? String(m.user_id) : undefined;
        return name === undefined || id === undefined ? [] : [{ id, name }];
      });
      this.members.set(group, { at: Date.now(), list });
      return list;
    } catch {
      return hit?.list ?? [];
    }
  }

  /**
   * The segments of a send. A picture or file is uploaded first (upload_file by URL: the
   * implementation fetches it); an upload that fails sent nothing, so it is never "unknown".
   */
  async segments(group: string, text: string, opts: SendOptions): Promise<Segment[]> {
    const segs: Segment[] = [];
    if (opts.replyTo !== undefined) segs.push({ type: "reply", data: { message_id: messageIdOf(group, opts.replyTo) } });
    if (opts.media) {
      let data: unknown;
      try {
        data = await this.call("upload_file", { type: "url", name: uploadName(opts.media), url: opts.media.url }, { retrySafe: true, timeout: 60_000 });
      } catch (err) {
        throw failure(err, `upload_file for ${group}`);
      }
      const fileId = (data as { file_id?: unknown } | null)?.file_id;
      if (typeof fileId !== "string" || fileId === "") throw new SendError(`upload_file for ${group}: the answer has no file_id`, "retry", { retryAfterMs: 5_000 });
      segs.push({ type: opts.media.kind, data: { file_id: fileId } });
    }
    if (text !== "" || !opts.media) segs.push(...textSegments(text, text.includes("@") ? await this.memberList(group) : []));
    return segs;
  }

  /** delete_message; a message already gone resolves; "no permission" is fatal (the relay says it once). */
  async retract(group: string, id: string): Promise<void> {
    const messageId = messageIdOf(group, id);
    try {
      await this.call("delete_message", { message_id: messageId }, { retry: false, timeout: 30_000 });
    } catch (err) {
      if (err instanceof ActionError && err.failure.kind === "failed") {
        const words = err.failure.message;
        if (GONE.test(words)) return;
        if (NO_RIGHT.test(words)) {
          throw new SendError(`delete in ${group}: the bot may not delete message ${id} (only its own messages, or any as group admin): ${words}`, "fatal", { cause: err });
        }
      }
      throw failure(err, `delete in ${group}`);
    }
  }

  /** Downloads a picture or file: get_file (type url) for its file_id, then the URL with the headers it names. */
  async fetchMedia(stream: HTTPStream, media: MediaRef, maxBytes: number, secrets: string[], signal: AbortSignal): Promise<FetchedMedia> {
    const fileId = fileIdOfRef(media.ref);
    let url = media.ref;
    let name = media.name;
    let headers: Record<string, string> = {};
    if (fileId !== undefined) {
      let data: { url?: unknown; name?: unknown; headers?: unknown } | null;
      try {
        data = (await this.call("get_file", { file_id: fileId, type: "url" }, { retrySafe: true, timeout: 15_000 })) as typeof data;
      } catch (err) {
        // The server said no (the file is gone): the relay posts a note; no answer: later.
        if (err instanceof ActionError && err.failure.kind === "failed") throw err;
        throw new SendError(`get_file: ${(err as Error).message}`, "retry", { cause: err, retryAfterMs: 5_000 });
      }
      if (typeof data?.url !== "string") throw new Error(`get_file ${fileId}: no url in the answer`);
      url = data.url;
      if (typeof data.name === "string" && data.name !== "") name ??= data.name;
      if (typeof data.headers === "object" && data.headers !== null) {
        headers = Object.fromEntries(Object.entries(data.headers).filter((e): e is [string, string] => typeof e[1] === "string"));
      }
    }
    // 4xx: the file is gone or the URL no longer works; the relay posts a note.
    return await fetchMediaRef(stream, media, maxBytes, { network: "onebot12", url, ...(name === undefined ? {} : { name }), on4xx: "fatal", headers, signal, secrets: [...secrets, ...Object.values(headers)] });
  }
}
