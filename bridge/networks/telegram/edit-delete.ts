// edit() and retract() on the Bot API: editMessageText (editMessageCaption for a picture or file
// with a caption) and deleteMessage, with what each refusal means for the relay. Both are safe to
// repeat: an edit to the same text and a delete of a deleted message are answered as done.
import type { HTTPStream, RequestSpec } from "../../../src/index.ts";
import { SendError } from "../../network.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import { ApiError, methodUrl, readAnswer, SEND_TIMEOUT_MS, type BotApi } from "./api.ts";
import type { GroupTarget } from "./groups.ts";
import type { MessageRef } from "./message-ref.ts";
import { sendError } from "./send.ts";

export interface CallDeps {
  stream: HTTPStream;
  api: BotApi;
  timeout?: number;
  signal?: AbortSignal;
}

/** A POST of one Bot API method with JSON parameters; never retried here (the caller decides). */
export function callRequest(api: BotApi, method: string, json: Record<string, unknown>, timeout = SEND_TIMEOUT_MS): RequestSpec {
  return { method: "POST", url: methodUrl(api, method), json, secrets: [api.token], timeout, retry: false, name: method };
}

export async function call(d: CallDeps, method: string, json: Record<string, unknown>): Promise<unknown> {
  return await readAnswer(await d.stream.request(callRequest(d.api, method, json, d.timeout), { signal: d.signal }), method);
}

const NOT_MODIFIED = /message is not modified/i;
const NO_TEXT = /there is no text in the message to edit/i;
const GONE = /message to (?:edit|delete) not found/i;
const CANNOT_DELETE = /message can't be deleted/i;

/** Replaces the text of message `ref` (a caption where the message is a picture or file). */
export async function editText(d: CallDeps, target: GroupTarget, ref: MessageRef, text: string): Promise<void> {
  const params = { chat_id: ref.chatId, message_id: ref.messageId };
  try {
    try {
      await call(d, "editMessageText", { ...params, text });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 400 && NO_TEXT.test(err.description))) throw err;
      await call(d, "editMessageCaption", { ...params, caption: text });
    }
  } catch (err) {
    // The same text again (a resend of an edit whose answer was lost): it reads as asked.
    if (err instanceof ApiError && err.code === 400 && NOT_MODIFIED.test(err.description)) return;
    if (err instanceof ApiError && err.code === 400 && GONE.test(err.description)) {
      throw new SendError(`edit in ${target.key}: message ${ref.messageId} is gone (${err.description})`, "fatal", { cause: err });
    }
    throw sendError(target, err, "edit");
  }
}

/** Deletes message `ref`; one already gone counts as deleted. */
export async function deleteMessage(d: CallDeps, target: GroupTarget, ref: MessageRef, warnings: RepeatedWarning): Promise<void> {
  try {
    await call(d, "deleteMessage", { chat_id: ref.chatId, message_id: ref.messageId });
  } catch (err) {
    if (err instanceof ApiError && err.code === 400 && GONE.test(err.description)) return;
    if (err instanceof ApiError && (err.code === 400 || err.code === 403) && CANNOT_DELETE.test(err.description)) {
      const why = "the bot may delete its own messages and, as an admin with the right to delete messages, anyone's, and only within 48 hours of sending";
      warnings.warn(`deleteMessage:${target.key}`, { group: target.key, messageId: ref.messageId }, `telegram: cannot delete messages in ${target.key}: ${why}`);
      throw new SendError(`retract in ${target.key}: message ${ref.messageId} can't be deleted (${why})`, "fatal", { cause: err });
    }
    throw sendError(target, err, "retract");
  }
}
