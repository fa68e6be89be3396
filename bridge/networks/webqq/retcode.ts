// What a poll2 or send_qun_msg2 answer means for the client (protocols.md §1.4, §1.7). Pure: the
// chain and the sender act on it.
import { Envelope, firstIssue, SendAnswer } from "./schemas.ts";
import { snippet } from "../shared/snippet.ts";

export type PollAction =
  | { kind: "messages"; items: unknown[] } // retcode 0 with a result array (possibly empty)
  | { kind: "idle" } // 102, HTTP 502/504/404, empty result, "ok", harmless errmsg
  | { kind: "rotate"; ptwebqq: string } // 116: replace ptwebqq with p
  | { kind: "warmup" } // 103: get_online_buddies2, then poll again
  | { kind: "relogin"; retcode: number } // 100/120/121/100000: the session is gone
  | { kind: "ignored"; retcode: number } // 109/110: "logged out" notices every client ignores
  | { kind: "failure"; retcode: number | undefined; reason: string }; // counted, backed off

export const RELOGIN_CODES: ReadonlySet<number> = new Set([100, 120, 121, 100000]);
// 1202/100012 are counted as failures (conflicting practice among clients; the issue says count).
const IGNORED_CODES: ReadonlySet<number> = new Set([109, 110]);
const IDLE_STATUSES: ReadonlySet<number> = new Set([404, 502, 504]);

/** Classifies a poll2 answer from its HTTP status and body text. Never throws. */
export function classifyPoll(status: number, body: string): PollAction {
  if (IDLE_STATUSES.has(status)) return { kind: "idle" };
  if (status !== 200) return { kind: "failure", retcode: undefined, reason: `HTTP ${status}` };
  if (body.trim() === "") return { kind: "idle" };
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { kind: "failure", retcode: undefined, reason: `malformed body: ${bodySnippet(body)}` };
  }
  const parsed = Envelope.safeParse(data);
  if (!parsed.success) return { kind: "failure", retcode: undefined, reason: `unexpected body (${firstIssue(parsed.error)}): ${bodySnippet(body)}` };
  const { retcode, result, p } = parsed.data;
  if (retcode === 0) return Array.isArray(result) ? { kind: "messages", items: result } : { kind: "idle" };
  if (retcode === 102) return { kind: "idle" };
  if (retcode === 116) {
    return typeof p === "string" && p !== ""
      ? { kind: "rotate", ptwebqq: p }
      : { kind: "failure", retcode, reason: "116 without p" };
  }
  if (retcode === 103) return { kind: "warmup" };
  if (RELOGIN_CODES.has(retcode)) return { kind: "relogin", retcode };
  if (IGNORED_CODES.has(retcode)) return { kind: "ignored", retcode };
  return { kind: "failure", retcode, reason: `retcode ${retcode}` };
}

/** Fields of SmartQQ answers that hold session secrets (116's `p` is the new ptwebqq). */
const SECRET_FIELDS = /("(?:p|ptwebqq|vfwebqq|psessionid|skey|ptsigx)"\s*:\s*)"[^"]*("?)/g;

/**
 * The shared snippet of a body, with the values of secret fields hidden first (also in a
 * malformed body), so a cut can never leave part of a secret.
 */
export function bodySnippet(body: string, max = 120): string {
  return snippet(body.replace(SECRET_FIELDS, '$1"…$2'), max);
}

export type SendOutcome =
  | { kind: "ok" } // {errCode:0}
  | { kind: "delivered"; retcode: number } // 100100: Mojo counts it as success
  | { kind: "maybe"; retcode: number } // 1202: "may have failed" (pandolia): maybe delivered
  | { kind: "frequency" } // 100003: too frequent, nothing delivered
  | { kind: "relogin"; retcode: number } // the session is gone: nothing delivered
  | { kind: "bad-request"; retcode: number } // 100001/1000000: bad parameters or cookies, nothing delivered
  | { kind: "refused"; retcode: number } // another retcode: the server refused, nothing delivered
  | { kind: "unreadable"; reason: string }; // no verdict: it may have been delivered

/** Bad parameters or cookies (protocols.md §1.4 table; ScienJus README). */
export const BAD_REQUEST_CODES: ReadonlySet<number> = new Set([100001, 1000000]);

/** Classifies a send_qun_msg2 answer (HTTP 200 bodies only). Never throws. */
export function classifySend(body: string): SendOutcome {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { kind: "unreadable", reason: `malformed body: ${bodySnippet(body)}` };
  }
  const parsed = SendAnswer.safeParse(data);
  if (!parsed.success) return { kind: "unreadable", reason: `unexpected body (${firstIssue(parsed.error)}): ${bodySnippet(body)}` };
  const { errCode, retcode, errMsg } = parsed.data;
  if (errCode === 0 || (retcode === 0 && errMsg === undefined)) return { kind: "ok" };
  if (retcode === 100100) return { kind: "delivered", retcode };
  if (retcode === 1202) return { kind: "maybe", retcode };
  if (retcode === 100003) return { kind: "frequency" };
  if (retcode !== undefined && (RELOGIN_CODES.has(retcode) || retcode === 103 || retcode === 108)) return { kind: "relogin", retcode };
  if (retcode !== undefined && BAD_REQUEST_CODES.has(retcode)) return { kind: "bad-request", retcode };
  // No retcode, or errCode≠0 ({errCode:1,errMsg:"ERROR"}, Mojo: "failed"): no clear verdict.
  if (retcode === undefined || retcode === 0) return { kind: "unreadable", reason: `no verdict: ${bodySnippet(body)}` };
  return { kind: "refused", retcode };
}
