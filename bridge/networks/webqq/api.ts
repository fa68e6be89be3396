// The SmartQQ API calls as request builders and answer parsers (protocols.md §1.2–1.7). The
// login chain, the poll chain and one-shot calls share them.
import type { RequestSpec, StreamResponse } from "../../../src/index.ts";
import { CLIENT_ID, type Endpoints } from "./endpoints.ts";
import { groupListHash } from "./hash.ts";
import { bodySnippet, RELOGIN_CODES } from "./retcode.ts";
import { Envelope, firstIssue, GroupInfoResult, GroupListEntry, GroupListResult, Login2Result, MemberCard, MemberInfo, VfwebqqResult } from "./schemas.ts";
import type { z } from "zod";

export interface Tokens {
  ptwebqq: string;
  vfwebqq: string;
  psessionid: string;
  uin: number;
}

/** A SmartQQ answer with a retcode other than 0. */
export class RetcodeError extends Error {
  readonly retcode: number;
  constructor(call: string, retcode: number) {
    super(`${call}: retcode ${retcode}`);
    this.name = "RetcodeError";
    this.retcode = retcode;
  }
  /** The server says the session (or the web login) is gone: log in again. */
  get sessionGone(): boolean {
    return RELOGIN_CODES.has(this.retcode) || this.retcode === 103 || this.retcode === 108;
  }
}

/** An answer that is not what the protocol says (HTML error page, broken JSON, HTTP error). */
export class BadAnswerError extends Error {
  constructor(call: string, detail: string) {
    super(`${call}: ${detail}`);
    this.name = "BadAnswerError";
  }
}

/** The secrets of a session: never logged. */
export function tokenSecrets(t: Partial<Tokens>): string[] {
  return [t.ptwebqq, t.vfwebqq, t.psessionid].filter((s): s is string => typeof s === "string" && s !== "");
}

/** Reads a `{retcode:0, result}` answer; throws RetcodeError or BadAnswerError otherwise. */
export async function readResult(res: StreamResponse, call: string): Promise<unknown> {
  const text = await res.text();
  if (res.status !== 200) throw new BadAnswerError(call, `HTTP ${res.status}: ${bodySnippet(text)}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new BadAnswerError(call, `malformed body: ${bodySnippet(text)}`);
  }
  const parsed = Envelope.safeParse(data);
  if (!parsed.success) throw new BadAnswerError(call, `unexpected body (${firstIssue(parsed.error)}): ${bodySnippet(text)}`);
  if (parsed.data.retcode !== 0) throw new RetcodeError(call, parsed.data.retcode);
  return parsed.data.result;
}

/** The `result` of a `{retcode:0}` answer in the shape `schema` says; BadAnswerError otherwise. */
async function readShaped<S extends z.ZodType>(res: StreamResponse, call: string, schema: S): Promise<z.infer<S>> {
  const parsed = schema.safeParse(await readResult(res, call));
  if (!parsed.success) throw new BadAnswerError(call, `bad answer (result ${firstIssue(parsed.error)})`);
  return parsed.data;
}

function form(r: unknown): Record<string, string> {
  return { r: JSON.stringify(r) };
}

export function getvfwebqqRequest(ep: Endpoints, t: Pick<Tokens, "ptwebqq">): RequestSpec {
  return {
    url: ep.url("s", "/api/getvfwebqq"),
    query: { ptwebqq: t.ptwebqq, clientid: CLIENT_ID, psessionid: "", t: "0.1" },
    headers: ep.headers("s", false),
    secrets: tokenSecrets(t),
    name: "getvfwebqq",
  };
}

export async function parseVfwebqq(res: StreamResponse): Promise<string> {
  return (await readShaped(res, "getvfwebqq", VfwebqqResult)).vfwebqq;
}

export function login2Request(ep: Endpoints, t: Pick<Tokens, "ptwebqq" | "vfwebqq">): RequestSpec {
  return {
    method: "POST",
    url: ep.url("d1", "/channel/login2"),
    form: form({ ptwebqq: t.ptwebqq, clientid: CLIENT_ID, psessionid: "", status: "online" }),
    headers: ep.headers("d1", true),
    secrets: tokenSecrets(t),
    retrySafe: true, // a second login2 only replaces the first session
    name: "login2",
  };
}

/** psessionid and uin; login2's own vfwebqq is ignored (it is useless, protocols.md §1.2 step 5). */
export async function parseLogin2(res: StreamResponse): Promise<{ psessionid: string; uin: number }> {
  const { psessionid, uin } = await readShaped(res, "login2", Login2Result);
  return { psessionid, uin };
}

/** The warm-up call without which poll2 answers 103. */
export function buddiesRequest(ep: Endpoints, t: Tokens): RequestSpec {
  return {
    url: ep.url("d1", "/channel/get_online_buddies2"),
    query: { vfwebqq: t.vfwebqq, clientid: CLIENT_ID, psessionid: t.psessionid, t: "0.1" },
    headers: ep.headers("d1", false),
    secrets: tokenSecrets(t),
    name: "get_online_buddies2",
  };
}

export function poll2Request(ep: Endpoints, t: Tokens, timeout: number): RequestSpec {
  return {
    method: "POST",
    url: ep.url("d1", "/channel/poll2"),
    form: form({ ptwebqq: t.ptwebqq, clientid: CLIENT_ID, psessionid: t.psessionid, key: "" }),
    headers: ep.headers("d1", true),
    secrets: tokenSecrets(t),
    longPoll: true,
    timeout,
    retrySafe: true, // a lost poll is re-polled; statuses go to the readback (504 is an idle answer)
    retry: { statuses: [] },
    name: "poll2",
  };
}

export interface GroupEntry {
  name: string;
  gid: number;
  code: number;
}

export function groupListRequest(ep: Endpoints, t: Tokens): RequestSpec {
  return {
    method: "POST",
    url: ep.url("s", "/api/get_group_name_list_mask2"),
    form: form({ vfwebqq: t.vfwebqq, hash: groupListHash(t.uin, t.ptwebqq) }),
    headers: ep.headers("s", true),
    secrets: tokenSecrets(t),
    retrySafe: true, // a read
    name: "get_group_name_list_mask2",
  };
}

export async function parseGroupList(res: StreamResponse): Promise<GroupEntry[]> {
  const { gnamelist } = await readShaped(res, "get_group_name_list_mask2", GroupListResult);
  // An entry of another shape names no group we could send to: left out.
  return gnamelist.flatMap((g) => {
    const e = GroupListEntry.safeParse(g);
    return e.success ? [e.data] : [];
  });
}

export function groupInfoRequest(ep: Endpoints, t: Tokens, code: number): RequestSpec {
  return {
    url: ep.url("s", "/api/get_group_info_ext2"),
    query: { gcode: code, vfwebqq: t.vfwebqq, t: Date.now() },
    headers: ep.headers("s", false),
    secrets: tokenSecrets(t),
    name: "get_group_info_ext2",
  };
}

/** Member uin → display name: the group card when set, else the nick. */
export async function parseGroupInfo(res: StreamResponse): Promise<Map<number, string>> {
  const { minfo, cards } = await readShaped(res, "get_group_info_ext2", GroupInfoResult);
  const names = new Map<number, string>();
  for (const m of minfo ?? []) {
    const e = MemberInfo.safeParse(m);
    if (e.success) names.set(e.data.uin, e.data.nick);
  }
  for (const c of cards ?? []) {
    const e = MemberCard.safeParse(c);
    if (e.success && e.data.card !== "") names.set(e.data.muin, e.data.card);
  }
  return names;
}

export function sendQunRequest(ep: Endpoints, t: Tokens, gid: number, content: string, msgId: number): RequestSpec {
  return {
    method: "POST",
    url: ep.url("d1", "/channel/send_qun_msg2"),
    form: form({ group_uin: gid, content, face: 522, clientid: CLIENT_ID, msg_id: msgId, psessionid: t.psessionid }),
    headers: ep.headers("d1", true),
    secrets: tokenSecrets(t),
    name: "send_qun_msg2",
    // Not retrySafe: after the request left, only the server knows whether it was delivered.
  };
}
