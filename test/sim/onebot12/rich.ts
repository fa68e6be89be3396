// The rich parts of the simulated OneBot 12 implementation (issue 14): upload_file by URL (the
// sim fetches it), get_group_member_list, delete_message with the platform's rights (the bot's own
// messages, any as admin) and notice.group_message_delete, and the segments of a send checked as
// the spec has them (reply{message_id}, mention{user_id}, image/file{file_id} of a known file).
import { randomUUID } from "node:crypto";
import type { SimBot, SimSegment, SimState } from "./state.ts";

/** Retcodes this implementation chose (35xxx: logic errors; 33xxx: network errors). */
export const MESSAGE_NOT_FOUND = 35003;
export const NO_PERMISSION = 35004;
export const DOWNLOAD_FAILED = 33001;

/** An action's outcome: data, a plain failure, or a refusal (a protocol violation of the client). */
export type RichOutcome = { data: unknown } | { failed: number; message: string } | { refuse: number; reason: string };

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Deletes a message: gone, and a notice.group_message_delete is queued. */
export function deleteMessage(state: SimState, messageId: string, operatorId: string, bot: SimBot = state.bots[0]!): void {
  const m = state.messages.get(messageId);
  if (!m || state.deleted.has(messageId)) throw new Error(`no message ${messageId} to delete`);
  state.deleted.add(messageId);
  state.queueBotEvent(bot, {
    type: "notice",
    detail_type: "group_message_delete",
    sub_type: operatorId === m.userId ? "recall" : "delete",
    group_id: m.group,
    message_id: messageId,
    user_id: m.userId,
    operator_id: operatorId,
  });
}

/** A file a test serves (an image segment's file_id in an injected message). */
export function addFile(state: SimState, name: string, data: Uint8Array, mime = "image/png"): string {
  const id = randomUUID();
  state.files.set(id, { name, data, mime });
  return id;
}

/**
 * The segments of a send as the spec has them: refused (10006) when one lacks its data; a reply
 * to a message this group does not have is dropped (the rest is sent).
 */
export function checkSegments(state: SimState, group: string, message: SimSegment[]): SimSegment[] | { refuse: number; reason: string } {
  const out: SimSegment[] = [];
  for (const s of message) {
    if (s.type === "reply") {
      const id = str(s.data.message_id);
      if (id === undefined) return { refuse: 10006, reason: `send_message: reply segment without a message_id string: ${JSON.stringify(s.data)}` };
      const m = state.messages.get(id);
      if (!m || m.group !== group || state.deleted.has(id)) {
        state.emit("reply-dropped", id);
        continue;
      }
    }
    if (s.type === "mention" && str(s.data.user_id) === undefined) return { refuse: 10006, reason: `send_message: mention segment without a user_id string: ${JSON.stringify(s.data)}` };
    if (s.type === "image" || s.type === "file") {
      const id = str(s.data.file_id);
      if (id === undefined || !state.files.has(id)) return { refuse: 10006, reason: `send_message: ${s.type} segment without the file_id of an uploaded file: ${JSON.stringify(s.data)}` };
    }
    out.push(s);
  }
  return out;
}

/** The rich actions; undefined for any other. */
export async function richAction(state: SimState, action: string, params: Record<string, unknown>, bot: SimBot): Promise<RichOutcome | undefined> {
  switch (action) {
    case "get_group_member_list": {
      const g = state.groups.get(str(params.group_id) ?? "");
      if (str(params.group_id) === undefined) return { refuse: 10003, reason: `get_group_member_list: params.group_id must be a non-empty string` };
      if (!g) return { failed: 35001, message: "group not found" };
      return { data: g.members.map((m) => ({ user_id: m.user_id, user_name: m.user_name, user_displayname: m.user_displayname ?? "" })) };
    }
    case "upload_file": {
      const type = params.type;
      const name = str(params.name);
      if (type !== "url" && type !== "path" && type !== "data") return { refuse: 10003, reason: `upload_file: type must be url, path or data, got ${JSON.stringify(type)}` };
      if (name === undefined) return { refuse: 10003, reason: "upload_file: name is required" };
      if (type !== "url") return { failed: 10004, message: "only type url is offered" };
      const url = str(params.url);
      if (url === undefined || !/^https?:\/\//.test(url)) return { refuse: 10003, reason: `upload_file: url must be an http(s) URL, got ${JSON.stringify(params.url)}` };
      try {
        const res = await fetch(url, { headers: (params.headers ?? {}) as Record<string, string> });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const data = new Uint8Array(await res.arrayBuffer());
        const id = randomUUID();
        state.files.set(id, { name, data, mime: res.headers.get("content-type") ?? "application/octet-stream" });
        state.emit("uploaded", id);
        return { data: { file_id: id } };
      } catch (err) {
        return { failed: DOWNLOAD_FAILED, message: `download failed: ${(err as Error).message}` };
      }
    }
    case "delete_message": {
      const id = str(params.message_id);
      if (id === undefined) return { refuse: 10003, reason: `delete_message: params.message_id must be a non-empty string, got ${JSON.stringify(params.message_id)}` };
      const m = state.messages.get(id);
      if (!m || state.deleted.has(id)) return { failed: MESSAGE_NOT_FOUND, message: "message not found" };
      if (m.userId !== bot.user_id && state.botRole !== "admin") return { failed: NO_PERMISSION, message: "permission denied: only a group admin may delete others' messages" };
      deleteMessage(state, id, bot.user_id, bot);
      return { data: null };
    }
  }
  return undefined;
}
