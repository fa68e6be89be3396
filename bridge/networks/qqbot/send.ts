// A message send within the platform's limits (windows.ts) and what its outcome means for the
// relay (SendError kinds, by HTTP status plus the body's `code`; protocols.md §6.4). Nothing here
// resends after the request left: an unclear outcome is "unknown".
import type { Logger } from "pino";
import { StreamClosedError, type HTTPStream } from "../../../src/index.ts";
import { neverSent } from "../shared/request-sent.ts";
import { SendError } from "../../network.ts";
import { ApiError, BadAnswerError, postRequest, type QqbotApi } from "./api.ts";
import { callApi, TokenUnavailableError } from "./client.ts";
import { escapeGuild } from "./events.ts";
import type { AccessToken } from "./token.ts";
import type { ReplyWindows, SendPlan } from "./windows.ts";

export interface SendTarget {
  kind: "channel" | "group";
  /** channel id or group openid. */
  id: string;
  /** The configured key: "channel:<id>" / "group:<openid>". */
  key: string;
}

/** A group send whose outcome is unknown: its resend reuses the same msg_id + msg_seq. */
export interface Unsettled {
  text: string;
  msgId: string;
  msgSeq: number;
}

export interface SendDeps {
  stream: HTTPStream;
  api: QqbotApi;
  token: AccessToken;
  windows: ReplyWindows;
  log: Logger;
  /** Whole-request timeout of a send (ms). */
  timeoutMs: number;
  now: () => number;
  /**
   * Per group, the last send that ended "unknown". The server refuses a (msg_id, msg_seq) it
   * already delivered with 40054005, so resending with the same pair is its own evidence:
   * 40054005 means the first one arrived (no duplicate), success means it had not.
   */
  unsettled: Map<string, Unsettled>;
  /** Saves windows, quota and unsettled sends now (awaited before a group request leaves). */
  persist: () => Promise<void>;
  /** Saves them soon. */
  persistSoon: () => void;
}

/** msg_id expired (groups report 40034005/40034031; the docs' channel code is 304027). */
const EXPIRED = new Set([40034005, 40034031, 304027]);
/** msg_id not usable for this target. */
const BAD_MSG_ID = new Set([40034024, 304026]);
/** Replies to one msg_id used up (third-party tables) or a reused msg_seq. */
const REPLIES_USED = new Set([40034128]);
const SEQ_REUSED = 40054005;
/** "主动消息失败, 无权限": a group send without a msg_id. */
const NO_PROACTIVE = 40034102;
/** "msg limit exceed" (消息发送超频): for a proactive channel send, the day's quota. */
const LIMIT = 22009;
const RATE_LIMITED = new Set([20028]);
/** The bot is not online on the gateway ("发送消息接口要求机器人接口需要连接到 websocket"). */
const NOT_ON_GATEWAY = 304018;
/** Held for audit: accepted, the audit decides. */
const AUDIT = new Set([304023, 304024]);
/** Never deliverable as it is: empty, URL not registered in the console, a reply to the bot's own message. */
const FATAL = new Set([50006, 304003, 50045]);

/** Thrown when no window or quota allows a send now (the message waits in the outbox). */
export class WaitingError extends SendError {
  constructor(message: string, retryAfterMs: number) {
    super(message, "retry", { retryAfterMs });
    this.name = "WaitingError";
  }
}

/** `extra`: body fields besides the text (rich-send.ts: message_reference, image). */
export async function sendText(d: SendDeps, target: SendTarget, text: string, extra: Record<string, unknown> = {}): Promise<string> {
  const before = d.unsettled.get(target.key);
  const resend = before !== undefined && before.text === text && d.windows.isOpen(target.key, before.msgId) ? before : undefined;
  if (before && !resend) d.unsettled.delete(target.key); // the relay moved on, or the window closed: a plain send
  const plan: SendPlan = resend ? { kind: "passive", msgId: resend.msgId, msgSeq: resend.msgSeq } : d.windows.plan(target.key);
  if (plan.kind === "wait") {
    const why = target.kind === "group" ? "no reply window is open (a group takes only replies to an @-mention of the bot less than 5 minutes old)" : "no reply window is open and today's proactive quota is used up";
    // Nothing is asked of the server meanwhile; the relay asks again after this, or when ready() turns true.
    const after = plan.untilMs === undefined ? 60_000 : Math.min(10 * 60_000, Math.max(1_000, plan.untilMs - d.now()));
    throw new WaitingError(`send to ${target.key}: ${why}`, after);
  }
  const path = target.kind === "channel" ? `/channels/${encodeURIComponent(target.id)}/messages` : `/v2/groups/${encodeURIComponent(target.id)}/messages`;
  const body: Record<string, unknown> =
    target.kind === "channel"
      ? { content: escapeGuild(text), ...(plan.kind === "passive" ? { msg_id: plan.msgId } : {}), ...extra }
      : { content: text, msg_type: 0, ...(plan.kind === "passive" ? { msg_id: plan.msgId, msg_seq: plan.msgSeq } : {}), ...extra };
  const guarded = target.kind === "group" && plan.kind === "passive";
  if (guarded && !resend) {
    // Written before the request leaves: after a crash mid-send, the resend reuses this pair.
    d.unsettled.set(target.key, { text, msgId: plan.msgId, msgSeq: plan.msgSeq });
    await d.persist();
  }
  let answer: Record<string, unknown>;
  try {
    answer = await callApi(d.stream, d.token, (tk) => postRequest(d.api, tk, path, body, d.timeoutMs), `send to ${target.key}`, AbortSignal.timeout(d.timeoutMs + 5_000));
  } catch (err) {
    if (resend && err instanceof ApiError && err.code === SEQ_REUSED) {
      // The earlier try with this msg_id + msg_seq was delivered: confirmed, and not sent twice.
      d.unsettled.delete(target.key);
      d.persistSoon();
      d.log.info({ target: target.key }, "qqbot: an unconfirmed group send proved delivered (its msg_seq was already used)");
      return "";
    }
    const e = outcome(d, target, plan, err, resend !== undefined);
    // Certainly not delivered with this pair: nothing to settle later (a resend's pair stays: the first try is still open).
    if (guarded && !resend && e.kind !== "unknown") d.unsettled.delete(target.key);
    d.persistSoon();
    throw e;
  }
  d.unsettled.delete(target.key);
  if (!resend) d.windows.spent(target.key, plan);
  d.persistSoon();
  const id = answer.id;
  if (typeof id !== "string" && typeof id !== "number") {
    // A 2xx: the server took it, but without its id the relay must not count it confirmed by id.
    throw new SendError(`send to ${target.key}: the answer has no message id`, "unknown");
  }
  return String(id);
}

/** The SendError for a failed send; counts what the server may have spent. */
function outcome(d: SendDeps, target: SendTarget, plan: SendPlan, err: unknown, counted: boolean): SendError {
  // What may have reached the server counts against its window or quota (once: a resend was counted already).
  const spend = (): void => {
    if (!counted) d.windows.spent(target.key, plan);
  };
  const where = `send to ${target.key}`;
  if (err instanceof SendError) return err;
  if (err instanceof TokenUnavailableError) return new SendError(`${where}: ${err.message}`, "retry", { cause: err, retryAfterMs: 5_000 });
  if (err instanceof StreamClosedError) return new SendError(`${where}: qqbot is stopping`, "retry", { cause: err });
  if (err instanceof ApiError) return apiOutcome(d, target, plan, where, err, spend);
  if (err instanceof BadAnswerError) {
    spend();
    return new SendError(`${where}: ${err.message}`, "unknown", { cause: err });
  }
  // Connect/DNS failures never reached the server; a reset, a timeout or an abort may have come after it acted.
  const before = neverSent(err);
  if (!before) spend();
  return new SendError(`${where}: ${(err as Error).message}`, before ? "retry" : "unknown", { cause: err });
}

function apiOutcome(d: SendDeps, target: SendTarget, plan: SendPlan, where: string, err: ApiError, spend: () => void): SendError {
  const o = { cause: err };
  const { code, status } = err;
  const msgId = plan.kind === "passive" ? plan.msgId : undefined;
  if (err.tokenRefused) return new SendError(`${where}: the access token was refused even after a refresh (${err.message})`, "retry", { ...o, retryAfterMs: 60_000 });
  if (EXPIRED.has(code) || BAD_MSG_ID.has(code) || REPLIES_USED.has(code)) {
    // The server did nothing; this window is gone, the next try takes another (or waits).
    if (msgId !== undefined) d.windows.closeWindow(target.key, msgId);
    d.log.info({ target: target.key, code }, "qqbot: the reply window was refused; trying another or waiting");
    return new SendError(`${where}: ${err.message}`, "retry", { ...o, retryAfterMs: 0 });
  }
  if (code === SEQ_REUSED) return new SendError(`${where}: msg_seq already used (${err.message}); a new one is taken`, "retry", { ...o, retryAfterMs: 0 });
  if (code === NO_PROACTIVE) return new SendError(`${where}: a group takes only replies (${err.message})`, "retry", { ...o, retryAfterMs: 60_000 });
  if (code === LIMIT) {
    if (plan.kind === "proactive") {
      d.windows.quotaExhausted(target.key);
      return new SendError(`${where}: today's proactive quota is used up (${err.message})`, "retry", { ...o, retryAfterMs: 0 });
    }
    return new SendError(`${where}: sending too fast (${err.message})`, "retry", { ...o, retryAfterMs: 2_000 });
  }
  if (RATE_LIMITED.has(code) || status === 429) return new SendError(`${where}: rate limited (${err.message})`, "retry", { ...o, retryAfterMs: 1_000 });
  if (code === NOT_ON_GATEWAY) return new SendError(`${where}: the bot is not online on the gateway (${err.message})`, "retry", { ...o, retryAfterMs: 5_000 });
  if (AUDIT.has(code)) {
    // Accepted and held for audit: resending would only queue a second copy for the auditor.
    spend();
    return new SendError(`${where}: held for audit (${err.message}); it appears if the audit passes`, "unknown", o);
  }
  if (FATAL.has(code)) return new SendError(`${where}: ${err.message}`, "fatal", o);
  // 503: the service said it did not take the request. Other 5xx may come after the message was sent.
  if (status === 503) return new SendError(`${where}: ${err.message}`, "retry", { ...o, retryAfterMs: 5_000 });
  if (status >= 500) {
    spend();
    return new SendError(`${where}: ${err.message}`, "unknown", o);
  }
  // Other 4xx: a channel or group the bot cannot reach, a body the server refuses: never deliverable as it is.
  return new SendError(`${where}: ${err.message}`, "fatal", o);
}
