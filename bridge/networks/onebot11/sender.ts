// send_group_msg (protocols.md §2.1) and what each failure means for the relay. Never retried
// here once the request may have left: only the server knows whether it was delivered.
import { classifyFailure, parseRetryAfter, type HTTPStream } from "../../../src/index.ts";
import { SendError } from "../../network.ts";
import { ActionError, actionRequest, readAction, type ApiTarget } from "./api.ts";
import { textToSegments } from "./message.ts";

/** A send waits this long for the answer (go-cqhttp's rate limiter makes calls wait, not fail). */
export const SEND_TIMEOUT = 60_000;

/** Answers that say the message can never go there: no such group, no permission, bad request. */
const NEVER = /GROUP_NOT_FOUND|NOT_FOUND|不存在|PARAM|EMPTY_MSG|permission|权限|禁言|muted|banned/i;
/** Answers that say "not now": too frequent, not logged in to QQ. */
const LATER = /rate|频繁|too many|offline|离线|未登录|not logged/i;

export function sendFailure(err: unknown, group: string, authWait: number): SendError {
  const where = `send to ${group}`;
  if (err instanceof ActionError) {
    const msg = `${where}: ${err.message}`;
    switch (err.kind) {
      case "auth":
        return new SendError(msg, "retry", { cause: err, retryAfterMs: authWait });
      case "http":
        if (err.httpStatus === 429) return new SendError(msg, "retry", { cause: err, retryAfterMs: parseRetryAfter(err.retryAfter) ?? 1_000 });
        if (err.httpStatus === 503) return new SendError(msg, "retry", { cause: err, retryAfterMs: parseRetryAfter(err.retryAfter) ?? 5_000 });
        if (err.httpStatus >= 400 && err.httpStatus < 500) return new SendError(msg, "fatal", { cause: err });
        return new SendError(msg, "unknown", { cause: err }); // a 500/502/504 does not say whether it went out
      case "failed":
        if (err.retcode === 404 || err.retcode === 1404 || err.retcode === 400 || err.retcode === 1400 || NEVER.test(err.serverMessage)) {
          return new SendError(msg, "fatal", { cause: err });
        }
        if (LATER.test(err.serverMessage)) return new SendError(msg, "retry", { cause: err, retryAfterMs: 5_000 });
        // e.g. go-cqhttp SEND_MSG_API_ERROR: QQ did not confirm; it may still have been delivered.
        return new SendError(msg, "unknown", { cause: err });
      case "malformed":
        return new SendError(msg, "unknown", { cause: err });
    }
  }
  // Connect/DNS failures never reached the server; anything later (reset, timeout) may have been delivered.
  const kind = classifyFailure(err) === "before-send" ? "retry" : "unknown";
  return new SendError(`${where}: ${(err as Error).message}`, kind, { cause: err });
}

/** Sends text to a group; resolves with the server's message_id ("" when it gave none). */
export async function sendGroupMessage(stream: HTTPStream, target: ApiTarget, groupId: number, text: string, signal: AbortSignal): Promise<string> {
  const res = await stream.request(
    actionRequest(target, "send_group_msg", { group_id: groupId, message: textToSegments(text), auto_escape: false }, { retry: false, timeout: SEND_TIMEOUT }),
    { signal },
  );
  const data = (await readAction(res, "send_group_msg")) as { message_id?: unknown } | null;
  const id = data?.message_id;
  return typeof id === "number" || typeof id === "string" ? String(id) : "";
}
