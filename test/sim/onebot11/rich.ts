// The rich parts of the simulated OneBot 11 implementation (issue 14): segments of a send checked
// as the implementations refuse them (reply needs a numeric id and is dropped when the message is
// unknown, at needs a qq, image needs a file the server can fetch: it does fetch http URLs),
// get_group_member_list, delete_msg with QQ's rights (the bot's own messages within 2 minutes,
// any as admin) and
// the group_recall notice, and pictures served at /_sim/media/NAME. Shared by HTTP and sockets.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Segment } from "../../../bridge/networks/onebot11/message.ts";
import type { SimFailure, SimState } from "./state.ts";

function int(v: unknown): number | undefined {
  return typeof v === "number" && Number.isSafeInteger(v) ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : undefined;
}

/** A failure the flavor gives for a call its handler refused. */
function refused(st: SimState, goCqhttp: SimFailure, words: string): SimFailure {
  return st.flavor === "go-cqhttp" ? goCqhttp : { retcode: st.handlerError().retcode, msg: words };
}

/** The group message with this id, wherever it is (our own included), unless recalled. */
export function findMessage(st: SimState, messageId: number): { group: number; event: Record<string, unknown> } | undefined {
  if (st.recalled.has(messageId)) return undefined;
  for (const [group, list] of st.histories) {
    const event = list.find((e) => e.message_id === messageId);
    if (event) return { group, event };
  }
  return undefined;
}

/** A message is recalled: gone from history, a group_recall notice on every transport. */
export function recall(st: SimState, messageId: number, operatorId: number): void {
  const found = findMessage(st, messageId);
  if (!found) throw new Error(`no message ${messageId} to recall`);
  st.recalled.add(messageId);
  const list = st.histories.get(found.group)!;
  list.splice(list.indexOf(found.event), 1);
  st.push({ time: Math.floor(Date.now() / 1000), self_id: st.selfId, post_type: "notice", notice_type: "group_recall", group_id: found.group, user_id: found.event.user_id, operator_id: operatorId, message_id: messageId });
  st.emit("recalled", messageId);
}

/**
 * The segments of a send as the implementation takes them: a malformed reply / at / image is
 * refused (a violation: a correct client sends none); a reply to an unknown message is dropped
 * (go-cqhttp and NapCat warn and send the rest); an image by http URL is fetched, and a URL that
 * does not give a picture fails the send (nothing sent).
 */
export async function checkSegments(st: SimState, group: number, segs: Segment[]): Promise<Segment[] | SimFailure> {
  const out: Segment[] = [];
  for (const s of segs) {
    switch (s.type) {
      case "reply": {
        const id = int(s.data.id);
        if (id === undefined) {
          st.violation(`reply segment without a numeric id: ${JSON.stringify(s.data)}`);
          return refused(st, { retcode: 100, msg: "PARAM_ERROR" }, "reply id 格式错误");
        }
        const target = findMessage(st, id);
        if (!target || target.group !== group) {
          st.emit("reply-dropped", id);
          continue;
        }
        break;
      }
      case "at": {
        const qq = s.data.qq;
        if (!(qq === "all" || int(qq) !== undefined)) {
          st.violation(`at segment without a qq: ${JSON.stringify(s.data)}`);
          return refused(st, { retcode: 100, msg: "PARAM_ERROR" }, "at qq 格式错误");
        }
        break;
      }
      case "image": {
        const file = s.data.file;
        if (typeof file !== "string" || !/^(https?:\/\/|base64:\/\/|file:\/\/)/.test(file)) {
          st.violation(`image segment without a usable file: ${JSON.stringify(s.data)}`);
          return refused(st, { retcode: 100, msg: "PARAM_ERROR" }, "image file 格式错误");
        }
        if (/^https?:/.test(file)) {
          try {
            const res = await fetch(file);
            const bytes = (await res.arrayBuffer()).byteLength;
            if (!res.ok || !(res.headers.get("content-type") ?? "").startsWith("image/")) throw new Error(`HTTP ${res.status}`);
            st.fetched.push({ url: file, bytes });
          } catch (err) {
            return refused(st, { retcode: 100, msg: "SEND_MSG_API_ERROR" }, `图片下载失败: ${(err as Error).message}`);
          }
        }
        break;
      }
    }
    out.push(s);
  }
  return out;
}

/** The rich actions; undefined for any other action. */
export function richAction(st: SimState, action: string, p: Record<string, unknown>): { data: unknown } | SimFailure | undefined {
  switch (action) {
    case "get_group_member_list": {
      const group = int(p.group_id);
      const members = group === undefined ? undefined : st.groups.get(group);
      if (!members) return refused(st, { retcode: 100, msg: "GROUP_NOT_FOUND" }, "群聊不存在");
      return { data: members.map((m) => ({ group_id: group, user_id: m.userId, nickname: m.nickname, card: m.card ?? "", role: "member" })) };
    }
    case "get_group_file_url": {
      const fileId = typeof p.file_id === "string" ? p.file_id : undefined;
      if (fileId === undefined || int(p.group_id) === undefined) {
        st.violation(`get_group_file_url without group_id and file_id: ${JSON.stringify(p)}`);
        return refused(st, { retcode: 100, msg: "PARAM_ERROR" }, "参数错误");
      }
      const key = `groupfile/${fileId}`;
      if (!st.media.has(key)) return refused(st, { retcode: 100, msg: "FILE_NOT_FOUND" }, "文件不存在");
      return { data: { url: `${st.baseUrl}/_sim/media/${encodeURIComponent(key)}` } };
    }
    case "delete_msg": {
      const id = int(p.message_id);
      if (id === undefined) {
        st.violation(`delete_msg without a numeric message_id: ${JSON.stringify(p.message_id)}`);
        return refused(st, { retcode: 100, msg: "PARAM_ERROR" }, "message_id 格式错误");
      }
      const found = findMessage(st, id);
      if (!found) return refused(st, { retcode: 100, msg: "MESSAGE_NOT_FOUND 消息不存在" }, "Recall failed");
      if (found.event.user_id !== st.selfId && st.botRole === "member") {
        return refused(st, { retcode: 100, msg: "RECALL_API_ERROR recall error: no permission" }, "撤回失败: 无权限 (not admin)");
      }
      const age = Math.floor(Date.now() / 1000) - Number(found.event.time);
      if (st.botRole === "member" && age > st.recallWindowSeconds) {
        return refused(st, { retcode: 100, msg: "RECALL_API_ERROR recall error: message too old" }, "撤回失败: 超过撤回时间");
      }
      recall(st, id, st.selfId);
      return { data: null };
    }
  }
  return undefined;
}

/** Registers a picture the sim serves; returns its URL on the sim (no token: QQ's are plain). */
export function addMedia(st: SimState, base: string, name: string, data: Uint8Array, mime = "image/png"): string {
  st.media.set(name, { data, mime });
  return `${base}/_sim/media/${encodeURIComponent(name)}`;
}

/** GET /_sim/media/NAME; true when it answered. */
export function serveMedia(st: SimState, url: URL, _req: IncomingMessage, res: ServerResponse): boolean {
  if (!url.pathname.startsWith("/_sim/media/")) return false;
  const file = st.media.get(decodeURIComponent(url.pathname.slice("/_sim/media/".length)));
  if (!file) {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("no such file");
    return true;
  }
  res.writeHead(200, { "content-type": file.mime, "content-length": file.data.byteLength });
  res.end(file.data);
  return true;
}

/**
 * Someone uploads a group file. go-cqhttp reports it only as a group_upload notice (with its url);
 * Lagrange as the notice without a url; NapCat and LLBot post it as a message with a `file`
 * segment (file_id, no url) and the notice besides. The file is served for get_group_file_url.
 */
export function uploadGroupFile(st: SimState, group: number, sender: { nickname: string; card?: string }, name: string, data: Uint8Array): { fileId: string; messageId?: number } {
  const fileId = `/${randomUUID()}`;
  const key = `groupfile/${fileId}`;
  st.media.set(key, { data, mime: "application/octet-stream" });
  const m = st.memberByName(group, sender);
  const file = { id: fileId, name, size: data.byteLength, busid: 102, ...(st.flavor === "go-cqhttp" ? { url: `${st.baseUrl}/_sim/media/${encodeURIComponent(key)}` } : {}) };
  let messageId: number | undefined;
  if (st.flavor === "napcat" || st.flavor === "llbot") {
    messageId = st.inject({ group, sender, message: [{ type: "file", data: { file: name, file_id: fileId, file_size: String(data.byteLength) } }] });
  }
  st.push({ time: Math.floor(Date.now() / 1000), self_id: st.selfId, post_type: "notice", notice_type: "group_upload", group_id: group, user_id: m.userId, file });
  return { fileId, ...(messageId === undefined ? {} : { messageId }) };
}
