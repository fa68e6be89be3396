// Replies, mentions, pictures and recalls on OneBot 11 (issue 14), behind the NetworkAdapter
// contract: the segments a send carries (`reply` first, `at` for an "@Name" of a member, `image`
// by URL, then the caption), delete_msg and what its failures mean, and media downloads.
// OneBot has no edit: features.edit is false.
import type { HTTPStream } from "../../../src/index.ts";
import { SendError, type MediaRef, type SendOptions } from "../../network.ts";
import { fetchMediaRef, type FetchedMedia } from "../shared/media-download.ts";
import { splitMentions, type MentionMember } from "../shared/mentions.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import type { Actions } from "./actions.ts";
import { ActionError } from "./api.ts";
import { parseGroupFileRef, type Segment } from "./message.ts";
import { displayName, type MemberNames } from "./names.ts";
import type { Profile } from "./profile.ts";
import { sendFailure } from "./sender.ts";

export const ONEBOT11_FEATURES = { reply: true, edit: false, retract: true, media: true, mention: true } as const;

/** How long a group's member list is trusted for mentions. */
const MEMBERS_TTL_MS = 10 * 60_000;
const LOOKUP_TIMEOUT = 5_000;

/** `group:message_id` → the message_id (a number where it is one: every implementation takes that). */
export function messageIdOf(group: string, id: string): number | string {
  const prefix = `${group}:`;
  if (!id.startsWith(prefix)) throw new SendError(`onebot11: message id "${id}" is not of group ${group}`, "fatal");
  const raw = id.slice(prefix.length);
  if (!/^-?\d{1,15}$/.test(raw)) throw new SendError(`onebot11: message id "${id}" is not a OneBot 11 message id`, "fatal");
  return Number(raw);
}

/**
 * The segments of a send: a `reply` to `opts.replyTo` first, the text with each "@Name" of a
 * member as an `at`, and a picture as `image` with `file` = its URL (the implementation fetches
 * it) before the caption. A file by URL cannot go into a group message on every implementation:
 * it is posted as its name and link.
 */
export function outgoingSegments(group: string, text: string, opts: SendOptions, members: readonly MentionMember[]): Segment[] {
  const segs: Segment[] = [];
  if (opts.replyTo !== undefined) segs.push({ type: "reply", data: { id: String(messageIdOf(group, opts.replyTo)) } });
  let caption = text;
  if (opts.media?.kind === "image") segs.push({ type: "image", data: { file: opts.media.url } });
  else if (opts.media?.kind === "file") caption = `${text}${text === "" ? "" : "\n"}${opts.media.name ?? "file"}: ${opts.media.url}`;
  for (const part of splitMentions(caption, members)) {
    if ("mention" in part) segs.push({ type: "at", data: { qq: part.mention } });
    else segs.push({ type: "text", data: { text: part.text } });
  }
  return segs;
}

export interface RichOptions {
  actions: () => Actions | null;
  /** The API's HTTPStream when there is one (media downloads share its pools); else one is opened. */
  stream: () => HTTPStream | null;
  openStream: () => HTTPStream;
  names: () => MemberNames | null;
  profile: () => Profile;
  warn: RepeatedWarning;
  signal: AbortSignal;
  secrets: string[];
  authWait: number;
}

/** Words of a delete_msg failure that say the message is already gone (or was never known here). */
const GONE = /MESSAGE_NOT_FOUND|不存在|not found|Recall failed|已撤回|already/i;
/** Words that say "not now" (too frequent, QQ not logged in): the recall may work later. */
const LATER = /rate|频繁|too many|offline|离线|未登录|not logged/i;

export class Onebot11Rich {
  private readonly o: RichOptions;
  private readonly members = new Map<string, { at: number; list: MentionMember[] }>();
  private own: HTTPStream | null = null;

  constructor(o: RichOptions) {
    this.o = o;
  }

  /** The group's members by display name (card, else nickname); [] when the server cannot say. */
  async memberList(group: string): Promise<MentionMember[]> {
    const hit = this.members.get(group);
    if (hit && Date.now() - hit.at < MEMBERS_TTL_MS) return hit.list;
    const a = this.o.actions();
    if (!a) return hit?.list ?? [];
    try {
      const data = await a.call("get_group_member_list", { group_id: Number(group) }, { retrySafe: true, timeoutMs: LOOKUP_TIMEOUT, signal: this.o.signal });
      const list = (Array.isArray(data) ? data : []).flatMap((m: { user_id?: unknown; card?: unknown; nickname?: unknown }) => {
        const name = displayName(m);
        const id = typeof m?.user_id === "number" || typeof m?.user_id === "string" ? String(m.user_id) : undefined;
        if (name !== undefined && id !== undefined) this.o.names()?.remember(Number(group), Number(id), name);
        return name === undefined || id === undefined ? [] : [{ id, name }];
      });
      this.members.set(group, { at: Date.now(), list });
      return list;
    } catch (err) {
      if (this.o.signal.aborted) throw err;
      this.o.warn.warn(`members:${group}`, { group, err: (err as Error).message }, "onebot11: get_group_member_list failed; @names are sent as text");
      return hit?.list ?? [];
    }
  }

  /** The segments of a send (see outgoingSegments); member names only when the text has an "@". */
  async segments(group: string, text: string, opts: SendOptions): Promise<Segment[]> {
    const members = text.includes("@") ? await this.memberList(group) : [];
    return outgoingSegments(group, text, opts, members);
  }

  /** delete_msg; a message already gone resolves; a refusal (no right, too late) is fatal; a lost answer is a retry. */
  async retract(group: string, id: string): Promise<void> {
    const messageId = messageIdOf(group, id);
    const a = this.o.actions();
    if (!a || this.o.signal.aborted) throw new SendError("onebot11 is not online", "retry", { retryAfterMs: 5_000 });
    try {
      await a.call("delete_msg", { message_id: messageId }, { timeoutMs: 30_000, signal: this.o.signal });
    } catch (err) {
      if (err instanceof ActionError && err.kind === "failed") {
        if (GONE.test(err.serverMessage)) return;
        // The server answered that it did not recall it, for a reason that stays: no right (a
        // member's message and the bot no admin), QQ's 2 minutes for a member's own recall. The
        // implementations word it differently (RECALL_API_ERROR, a handler error): fatal, so the
        // relay says it once; not logged here for every message.
        if (!LATER.test(err.serverMessage)) {
          throw new SendError(
            `recall in ${group}: the server refused to recall message ${id} (a bot recalls its own messages, within 2 minutes unless it is a group admin, and others' only as group admin): ${err.serverMessage || err.message}`,
            "fatal",
            { cause: err },
          );
        }
      }
      const e = sendFailure(err, group, this.o.authWait, this.o.profile());
      // A recall may be repeated safely (a second one finds it gone): "maybe done" is a plain
      // retry; only an HTTP 4xx (no such action here) stays fatal.
      throw e.kind === "unknown" ? new SendError(e.message, "retry", { cause: err, retryAfterMs: 5_000 }) : e;
    }
  }

  /**
   * Downloads a picture or file of an inbound message: its ref is the implementation's URL, or a
   * group file's ids, for which get_group_file_url gives a URL now.
   */
  async fetchMedia(media: MediaRef, maxBytes: number): Promise<FetchedMedia> {
    const stream = this.o.stream() ?? (this.own ??= this.o.openStream());
    let url = media.ref;
    const file = parseGroupFileRef(media.ref);
    if (file !== undefined) {
      const a = this.o.actions();
      if (!a) throw new SendError("onebot11 is not online: cannot ask for the group file's URL", "retry", { retryAfterMs: 5_000 });
      const params = { group_id: Number(file.group), file_id: file.fileId, ...(file.busid === "" ? {} : { busid: Number(file.busid) }) };
      let data: { url?: unknown } | null;
      try {
        data = (await a.call("get_group_file_url", params, { retrySafe: true, timeoutMs: 15_000, signal: this.o.signal })) as { url?: unknown } | null;
      } catch (err) {
        // The server said no (the file is gone): the relay posts a note; no answer: later.
        if (err instanceof ActionError && err.kind === "failed") throw err;
        throw new SendError(`get_group_file_url: ${(err as Error).message}`, "retry", { cause: err, retryAfterMs: 5_000 });
      }
      if (typeof data?.url !== "string") throw new Error("get_group_file_url: no url in the answer");
      url = data.url;
    }
    // 4xx: the file is gone or the URL's download key no longer works; the relay posts a note.
    return await fetchMediaRef(stream, media, maxBytes, { network: "onebot11", url, on4xx: "fatal", signal: this.o.signal, secrets: this.o.secrets });
  }

  async close(): Promise<void> {
    await this.own?.close();
    this.own = null;
  }
}
