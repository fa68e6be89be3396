// What a poll2 answer means for the client (protocols.md §1.4). Pure: the chain acts on it.

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
    return { kind: "failure", retcode: undefined, reason: `malformed body: ${snippet(body)}` };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { kind: "failure", retcode: undefined, reason: `unexpected body: ${snippet(body)}` };
  }
  const { retcode, result, p } = data as { retcode?: unknown; result?: unknown; p?: unknown };
  if (typeof retcode !== "number") return { kind: "failure", retcode: undefined, reason: `no retcode: ${snippet(body)}` };
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

/** A short, single-line excerpt of a body for logs (bodies never carry session secrets here). */
export function snippet(body: string, max = 120): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export type SendOutcome =
  | { kind: "ok" }
  | { kind: "ok-ambiguous"; retcode: number } // 1202/100100: counted as delivered (see index.ts)
  | { kind: "frequency" } // 100003: too frequent, nothing delivered
  | { kind: "relogin"; retcode: number }
  | { kind: "rejected"; retcode: number | undefined; reason: string; permanent: boolean } // the server refused it
  | { kind: "unreadable"; reason: string }; // no verdict: it may have been delivered

/**
 * 100001 and 1000000 answer a request the server cannot take: bad parameters or cookies
 * (protocols.md §1.4 table, §1.7: a raw content array gives 100001). Resending the same request
 * gets the same answer, so such a refusal is permanent for that message: reported "fatal", it
 * does not block the group's queue. A session that is really gone shows on poll2 (100000/121/103),
 * which logs in again; later messages then go out on the new session.
 */
export const BAD_REQUEST_CODES: ReadonlySet<number> = new Set([100001, 1000000]);

/** Classifies a send_qun_msg2 answer (HTTP 200 bodies only). */
export function classifySend(body: string): SendOutcome {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return { kind: "unreadable", reason: `malformed body: ${snippet(body)}` };
  }
  const { errCode, retcode, errMsg } = (data ?? {}) as { errCode?: unknown; retcode?: unknown; errMsg?: unknown };
  if (errCode === 0 || (retcode === 0 && errMsg === undefined)) return { kind: "ok" };
  if (retcode === 1202 || retcode === 100100) return { kind: "ok-ambiguous", retcode };
  if (retcode === 100003) return { kind: "frequency" };
  if (typeof retcode === "number" && (RELOGIN_CODES.has(retcode) || retcode === 103)) return { kind: "relogin", retcode };
  if (typeof retcode !== "number") return { kind: "unreadable", reason: `no verdict: ${snippet(body)}` };
  return { kind: "rejected", retcode, reason: snippet(body), permanent: BAD_REQUEST_CODES.has(retcode) };
}
