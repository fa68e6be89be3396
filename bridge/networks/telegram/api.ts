// The Bot API calls as request builders and one answer reader (protocols.md §4). The token sits
// in every URL path, so every request carries it in `secrets` for log redaction.
import type { RequestSpec, StreamResponse } from "../../../src/index.ts";
import type { GroupTarget } from "./groups.ts";
import { AnswerSchema, firstIssue, UserSchema } from "./schema.ts";
import { snippet } from "../shared/snippet.ts";

export const DEFAULT_API = "https://api.telegram.org";
/** The server clamps getUpdates' timeout to this (LONG_POLL_MAX_TIMEOUT). */
export const MAX_POLL_TIMEOUT = 50;
/** The server holds a poll at least this long when the same offset repeats within 3 s. */
export const MIN_SERVER_HOLD = 3;
/** sendMessage's text limit (1–4096 characters). */
export const MAX_TEXT_LENGTH = 4096;
/** What the bridge asks for: group messages and their edits (the setting persists on the server). */
export const ALLOWED_UPDATES = ["message", "edited_message"];

export interface BotApi {
  /** Base URL without a trailing slash. */
  base: string;
  token: string;
}

export function botApi(token: string, api: string | undefined): BotApi {
  return { base: (api ?? DEFAULT_API).replace(/\/+$/, ""), token };
}

export function methodUrl(api: BotApi, method: string): string {
  return `${api.base}/bot${api.token}/${method}`;
}

/** An `{"ok":false}` answer (or an HTTP error without one). */
export class ApiError extends Error {
  readonly method: string;
  /** error_code (the HTTP status when the body has none). */
  readonly code: number;
  readonly description: string;
  readonly retryAfterMs?: number;
  /** parameters.migrate_to_chat_id: the group became a supergroup with this id. */
  readonly migrateToChatId?: string;
  constructor(method: string, code: number, description: string, params: { retryAfterMs?: number; migrateToChatId?: string } = {}) {
    super(`${method}: ${code} ${description}`);
    this.name = "ApiError";
    this.method = method;
    this.code = code;
    this.description = description;
    if (params.retryAfterMs !== undefined) this.retryAfterMs = params.retryAfterMs;
    if (params.migrateToChatId !== undefined) this.migrateToChatId = params.migrateToChatId;
  }

  /** The token (or the API base) is not accepted: nothing will work until the config changes. */
  get authFailure(): boolean {
    return this.code === 401 || this.code === 404 || (this.code === 403 && (this.method === "getMe" || this.method === "getUpdates"));
  }
}

/** A body that is not a Bot API answer (an HTML error page, broken JSON). */
export class BadAnswerError extends Error {
  readonly status: number;
  constructor(method: string, status: number, detail: string) {
    super(`${method}: HTTP ${status}: ${detail}`);
    this.name = "BadAnswerError";
    this.status = status;
  }
}

/** Reads an answer: the result of `{"ok":true}`; throws ApiError or BadAnswerError otherwise. */
export async function readAnswer(res: StreamResponse, method: string): Promise<unknown> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    if (res.status !== 200) throw new ApiError(method, res.status, `HTTP ${res.status}: ${snippet(text)}`);
    throw new BadAnswerError(method, res.status, `malformed body: ${snippet(text)}`);
  }
  const parsed = AnswerSchema.safeParse(json);
  if (!parsed.success) {
    if (res.status !== 200) throw new ApiError(method, res.status, `HTTP ${res.status}: ${snippet(text)}`);
    throw new BadAnswerError(method, res.status, `not a Bot API answer: ${snippet(text)}`);
  }
  const data = parsed.data;
  if (data.ok) return data.result;
  const retryAfter = data.parameters?.retry_after;
  const migrate = data.parameters?.migrate_to_chat_id;
  throw new ApiError(method, data.error_code ?? res.status, data.description ?? "(no description)", {
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter * 1000 }),
    ...(migrate === undefined ? {} : { migrateToChatId: String(migrate) }),
  });
}

export interface Me {
  id: string;
  username?: string;
}

export function getMeRequest(api: BotApi): RequestSpec {
  // Statuses go to the reader (401 is an answer, not a transport failure); transport errors are retried.
  return { url: methodUrl(api, "getMe"), secrets: [api.token], retry: { statuses: [] }, name: "getMe" };
}

export function parseMe(result: unknown): Me {
  const r = UserSchema.safeParse(result);
  if (!r.success) throw new BadAnswerError("getMe", 200, `not a bot: ${firstIssue(r.error)}`);
  return { id: String(r.data.id), ...(r.data.username === undefined ? {} : { username: r.data.username }) };
}

/** timeout: the hold asked of the server (s); the HTTP timeout sits above what the server may hold. */
export function getUpdatesRequest(api: BotApi, offset: number | undefined, timeout: number): RequestSpec {
  const hold = Math.max(timeout, MIN_SERVER_HOLD) * 1000;
  return {
    url: methodUrl(api, "getUpdates"),
    query: { offset, limit: 100, timeout, allowed_updates: JSON.stringify(ALLOWED_UPDATES) },
    secrets: [api.token],
    longPoll: true,
    timeout: hold + Math.min(15_000, Math.max(1_000, hold / 4)),
    // 409/429/5xx carry their reason in the body: the poller reads them itself.
    retry: { statuses: [] },
    name: "getUpdates",
  };
}

export function deleteWebhookRequest(api: BotApi): RequestSpec {
  // Without drop_pending_updates: the queued updates stay for getUpdates.
  return { method: "POST", url: methodUrl(api, "deleteWebhook"), json: {}, secrets: [api.token], retrySafe: true, retry: { statuses: [] }, name: "deleteWebhook" };
}

/**
 * How long a send waits for its answer: the server may queue a send behind a flood wait for
 * seconds; past this it is "unknown" (maybe delivered), so it is generous.
 */
export const SEND_TIMEOUT_MS = 60_000;

/** `extra`: more parameters (reply_parameters). */
export function sendMessageRequest(api: BotApi, target: GroupTarget, text: string, timeout = SEND_TIMEOUT_MS, extra: Record<string, unknown> = {}): RequestSpec {
  return {
    method: "POST",
    url: methodUrl(api, "sendMessage"),
    // Plain text: no parse_mode, so "<", "&" and "*" arrive as typed.
    json: { chat_id: target.chatId, text, ...(target.threadId === undefined ? {} : { message_thread_id: target.threadId }), ...extra },
    secrets: [api.token],
    timeout,
    // Never resent here: after the request left, only the server knows whether it was delivered.
    retry: false,
    name: "sendMessage",
  };
}
