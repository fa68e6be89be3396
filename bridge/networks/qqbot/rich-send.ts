// The rich parts of a QQ bot send (protocols.md §6.4): the quoted message (`message_reference`,
// guild channels only: the v2 group API takes none), a picture (a guild channel's `image` URL
// field; elsewhere the link goes in the text), the recall of a message (DELETE, retract()), and
// the download of an inbound attachment (fetchMedia()).
import type { RequestSpec, HTTPStream } from "../../../src/index.ts";
import { StreamClosedError } from "../../../src/index.ts";
import { SendError, type MediaRef, type SendOptions } from "../../network.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import { neverSent } from "../shared/request-sent.ts";
import { fetchMediaRef } from "../shared/media-download.ts";
import { ApiError, authHeaders, BadAnswerError, type QqbotApi } from "./api.ts";
import { callApi, TokenUnavailableError } from "./client.ts";
import { sendText, type SendDeps, type SendTarget } from "./send.ts";
import type { AccessToken } from "./token.ts";

/** The text and the extra body fields a send with options becomes on this target. */
export function richBody(target: SendTarget, text: string, opts: SendOptions | undefined): { text: string; extra: Record<string, unknown> } {
  const extra: Record<string, unknown> = {};
  let out = text;
  if (opts?.replyTo !== undefined && target.kind === "channel") {
    // A quoted message the server cannot find must not refuse the send (it may have been deleted).
    extra.message_reference = { message_id: opts.replyTo, ignore_get_message_error: true };
  }
  if (opts?.media) {
    if (target.kind === "channel" && opts.media.kind === "image") extra.image = opts.media.url;
    else out = text === "" ? opts.media.url : `${text}\n${opts.media.url}`;
  }
  return { text: out, extra };
}

/**
 * A send with its options. A picture the platform refuses (it could not fetch or read the URL: a
 * 4xx, nothing sent) does not make the text a dead letter: it goes again with the link instead.
 */
export async function sendRich(d: SendDeps, target: SendTarget, text: string, opts: SendOptions | undefined): Promise<string> {
  const rich = richBody(target, text, opts);
  try {
    return await sendText(d, target, rich.text, rich.extra);
  } catch (err) {
    if (!(err instanceof SendError && err.kind === "fatal" && rich.extra.image !== undefined && opts?.media)) throw err;
    d.log.info({ target: target.key, err: err.message }, "qqbot: the platform refused the picture; sending its link instead");
    const { image: _image, ...rest } = rich.extra;
    return await sendText(d, target, text === "" ? opts.media.url : `${text}\n${opts.media.url}`, rest);
  }
}

export function recallRequest(api: QqbotApi, token: string, target: SendTarget, messageId: string, timeout: number): RequestSpec {
  const path =
    target.kind === "channel"
      ? `/channels/${encodeURIComponent(target.id)}/messages/${encodeURIComponent(messageId)}`
      : `/v2/groups/${encodeURIComponent(target.id)}/messages/${encodeURIComponent(messageId)}`;
  return {
    method: "DELETE",
    url: `${api.base}${path}`,
    // hidetip: no "a message was recalled" grey line in the channel.
    ...(target.kind === "channel" ? { query: { hidetip: "true" } } : {}),
    headers: authHeaders(api, token),
    secrets: [token],
    retry: false,
    timeout,
    name: `DELETE ${target.kind === "channel" ? "/channels/:id/messages/:id" : "/v2/groups/:id/messages/:id"}`,
  };
}

export interface RecallDeps {
  stream: HTTPStream;
  api: QqbotApi;
  token: AccessToken;
  timeoutMs: number;
  warnings: RepeatedWarning;
}

/** Recalls message `messageId` of `target`; one already gone (404) counts as recalled. */
export async function recall(d: RecallDeps, target: SendTarget, messageId: string): Promise<void> {
  const where = `retract in ${target.key}`;
  try {
    await callApi(d.stream, d.token, (tk) => recallRequest(d.api, tk, target, messageId, d.timeoutMs), where, AbortSignal.timeout(d.timeoutMs + 5_000));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return;
    if (err instanceof ApiError && err.tokenRefused) throw new SendError(`${where}: the access token was refused even after a refresh`, "retry", { cause: err, retryAfterMs: 60_000 });
    if (err instanceof ApiError && (err.status === 429 || err.code === 20028)) throw new SendError(`${where}: rate limited (${err.message})`, "retry", { cause: err, retryAfterMs: 1_000 });
    if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
      const why =
        target.kind === "group"
          ? "a bot may recall only its own group messages, and only shortly after sending them"
          : "a bot may recall its own messages, and others' only as a channel admin";
      d.warnings.warn(`recall:${target.key}`, { group: target.key, code: err.code }, `qqbot: cannot recall messages in ${target.key}: ${why}`);
      throw new SendError(`${where}: message ${messageId} can't be recalled (${err.message}; ${why})`, "fatal", { cause: err });
    }
    if (err instanceof TokenUnavailableError) throw new SendError(`${where}: ${err.message}`, "retry", { cause: err, retryAfterMs: 5_000 });
    if (err instanceof StreamClosedError) throw new SendError(`${where}: qqbot is stopping`, "retry", { cause: err });
    if (err instanceof ApiError && err.status === 503) throw new SendError(`${where}: ${err.message}`, "retry", { cause: err, retryAfterMs: 5_000 });
    if (err instanceof ApiError || err instanceof BadAnswerError) throw new SendError(`${where}: ${err.message}`, "unknown", { cause: err });
    throw new SendError(`${where}: ${(err as Error).message}`, neverSent(err) ? "retry" : "unknown", { cause: err });
  }
}

/** Downloads an attachment (its ref is the platform's download URL). No credential goes with it. */
export async function fetchAttachment(stream: HTTPStream, media: MediaRef, maxBytes: number, signal?: AbortSignal): Promise<{ data: Uint8Array; mime: string; name: string }> {
  // 4xx: the short-lived download key expired or the file is gone: this URL will not work again.
  return await fetchMediaRef(stream, media, maxBytes, { network: "qqbot", on4xx: "fatal", ...(signal ? { signal } : {}) });
}
