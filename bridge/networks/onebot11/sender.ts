// send_group_msg (protocols.md §2.1) and what each failure means for the relay. Never retried
// here once the request may have left: only the server knows whether it was delivered, and the
// relay settles that by the echo or the history.
import { parseRetryAfter } from "../../../src/index.ts";
import { neverSent, serverDone } from "../shared/request-sent.ts";
import { SendError } from "../../network.ts";
import type { Actions } from "./actions.ts";
import { ActionError } from "./api.ts";
import { textToSegments, type Segment } from "./message.ts";
import { failureMeaning, profileNamed, type Profile } from "./profile.ts";

/** A send waits this long for the answer (go-cqhttp's rate limiter makes calls wait, not fail). */
export const SEND_TIMEOUT = 60_000;

export function sendFailure(err: unknown, group: string, authWait: number, profile: Profile = profileNamed("unknown")): SendError {
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
        return new SendError(msg, "unknown", { cause: err, serverDone: true }); // a 500/502/504 does not say whether it went out
      case "failed": {
        const meaning = failureMeaning(profile, err.retcode, err.serverMessage);
        if (meaning === "auth") return new SendError(msg, "retry", { cause: err, retryAfterMs: authWait });
        if (meaning === "retry") return new SendError(msg, "retry", { cause: err, retryAfterMs: 5_000 });
        return new SendError(msg, meaning, { cause: err, serverDone: true });
      }
      case "malformed":
        return new SendError(msg, "unknown", { cause: err, serverDone: true });
    }
  }
  // Not sent at all (no socket, a refused connection): a plain retry; anything later may have been delivered.
  return new SendError(`${where}: ${(err as Error).message}`, neverSent(err) ? "retry" : "unknown", { cause: err, serverDone: serverDone(err) });
}

/** Sends text (or ready segments) to a group; resolves with the server's message_id ("" when it gave none). */
export async function sendGroupMessage(actions: Actions, groupId: number, text: string | Segment[], signal: AbortSignal, timeoutMs = SEND_TIMEOUT): Promise<string> {
  const message = typeof text === "string" ? textToSegments(text) : text;
  const data = (await actions.call("send_group_msg", { group_id: groupId, message, auto_escape: false }, { timeoutMs, signal })) as { message_id?: unknown } | null;
  const id = data?.message_id;
  return typeof id === "number" || typeof id === "string" ? String(id) : "";
}
