// sendMessage and what its outcome means for the relay (SendError kinds, README "Send failures").
// Nothing here resends: after the request left, an unclear outcome is "unknown" and the relay
// settles it (Telegram has no echo and no history for bots: it resends at least once, counted).
import { z } from "zod";
import type { HTTPStream } from "../../../src/index.ts";
import { SendError, type SendResult } from "../../network.ts";
import { transportSendKind } from "../shared/request-sent.ts";
import { ApiError, BadAnswerError, readAnswer, sendMessageRequest, type BotApi } from "./api.ts";
import type { GroupTarget } from "./groups.ts";
import { messageKey } from "./inbound.ts";

/** How long a send waits when the token is refused: the config must change first. */
export const AUTH_RETRY_MS = 60_000;
/** The wait after a 503 (the server took nothing). */
export const UNAVAILABLE_RETRY_MS = 5_000;

const SentSchema = z.looseObject({ message_id: z.number().int() });

export async function sendMessage(stream: HTTPStream, api: BotApi, target: GroupTarget, text: string, o: { timeout?: number; signal?: AbortSignal; extra?: Record<string, unknown> } = {}): Promise<SendResult> {
  let result: unknown;
  try {
    result = await readAnswer(await stream.request(sendMessageRequest(api, target, text, o.timeout, o.extra), { signal: o.signal }), "sendMessage");
  } catch (err) {
    throw sendError(target, err);
  }
  const sent = SentSchema.safeParse(result);
  // ok:true means delivered; without a readable message id it is still delivered (no id to give).
  return { id: sent.success ? messageKey(target.key, sent.data.message_id) : "" };
}

/** The SendError for a failed sendMessage (or another call that changes the chat: `what` names it). */
export function sendError(target: GroupTarget, err: unknown, what = "send"): SendError {
  const where = `${what} to ${target.key}`;
  if (err instanceof SendError) return err;
  if (err instanceof ApiError) return apiSendError(where, err);
  if (err instanceof BadAnswerError) {
    // A 200 that is not a Bot API answer came after the server took the request.
    return new SendError(`${where}: ${err.message}`, "unknown", { cause: err });
  }
  return new SendError(`${where}: ${(err as Error).message}`, transportSendKind(err), { cause: err });
}

function apiSendError(where: string, err: ApiError): SendError {
  const opts = { cause: err };
  if (err.code === 429) return new SendError(`${where}: rate limited (${err.description})`, "retry", { ...opts, retryAfterMs: err.retryAfterMs ?? 1_000 });
  if (err.code === 401 || err.code === 404) {
    // The token (or the API base URL) is refused: nothing was delivered, and nothing will be until the config changes.
    return new SendError(`${where}: the Bot API refused the bot token (${err.code} ${err.description})`, "retry", { ...opts, retryAfterMs: AUTH_RETRY_MS });
  }
  if (err.migrateToChatId !== undefined) {
    return new SendError(`${where}: the group became a supergroup; configure chat id ${err.migrateToChatId} instead`, "fatal", opts);
  }
  // 503 says the server (or its proxy) took nothing; 500, 502 and 504 may come after the delivery.
  if (err.code === 503) return new SendError(`${where}: ${err.description}`, "retry", { ...opts, retryAfterMs: err.retryAfterMs ?? UNAVAILABLE_RETRY_MS });
  if (err.code >= 500) return new SendError(`${where}: ${err.description}`, "unknown", opts);
  // 400 chat not found / message is too long / message thread not found / text is empty, 403 no rights or kicked.
  if (err.code === 400 || err.code === 403) return new SendError(`${where}: ${err.description}`, "fatal", opts);
  // Any other code the Bot API does not document for sendMessage: the request was read, so maybe.
  return new SendError(`${where}: ${err.code} ${err.description}`, "unknown", opts);
}
