// sendMessage and what its outcome means for the relay (SendError kinds). Nothing here resends:
// after the request left, an unclear outcome is "unknown", never a silent retry.
import { classifyFailure, type HTTPStream } from "../../../src/index.ts";
import { SendError } from "../../network.ts";
import { ApiError, BadAnswerError, readAnswer, sendMessageRequest, type BotApi } from "./api.ts";
import type { GroupTarget } from "./groups.ts";

/** How long a send waits when the token is refused: the config must change first. */
export const AUTH_RETRY_MS = 60_000;

export async function sendMessage(stream: HTTPStream, api: BotApi, target: GroupTarget, text: string): Promise<string> {
  let result: unknown;
  try {
    result = await readAnswer(await stream.request(sendMessageRequest(api, target, text)), "sendMessage");
  } catch (err) {
    throw sendError(target, err);
  }
  const id = (result as { message_id?: unknown } | null)?.message_id;
  // ok:true means delivered; without an id the relay still must not resend it.
  if (typeof id !== "number") throw new SendError(`send to ${target.key}: answer has no message_id`, "unknown");
  return String(id);
}

/** The SendError for a failed sendMessage. */
export function sendError(target: GroupTarget, err: unknown): SendError {
  const where = `send to ${target.key}`;
  if (err instanceof SendError) return err;
  if (err instanceof ApiError) return apiSendError(where, err);
  if (err instanceof BadAnswerError) {
    // A 200 that is not JSON came from the server after it took the request.
    return new SendError(`${where}: ${err.message}`, "unknown", { cause: err });
  }
  // Connect/DNS failures never reached the server; a reset or timeout may have come after delivery.
  const kind = classifyFailure(err) === "before-send" ? "retry" : "unknown";
  return new SendError(`${where}: ${(err as Error).message}`, kind, { cause: err });
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
  // 503 says the server did not take the request; other 5xx (500, 502, 504) may come after delivery.
  if (err.code === 503) return new SendError(`${where}: ${err.description}`, "retry", { ...opts, retryAfterMs: 5_000 });
  if (err.code >= 500) return new SendError(`${where}: ${err.description}`, "unknown", opts);
  // 400 chat not found / message is too long / message thread not found / text is empty, 403 no rights or kicked.
  return new SendError(`${where}: ${err.description}`, "fatal", opts);
}
