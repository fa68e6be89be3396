// The Bot API calls as request builders and one answer reader (protocols.md §4). The token sits
// in every URL path, so every request carries it in `secrets` for log redaction.
import type { RequestSpec, StreamResponse } from "../../../src/index.ts";
import type { GroupTarget } from "./groups.ts";

export const DEFAULT_API = "https://api.telegram.org";
/** The server clamps getUpdates' timeout to this (LONG_POLL_MAX_TIMEOUT). */
export const MAX_POLL_TIMEOUT = 50;
/** The server holds a poll at least this long when the same offset repeats within 3 s. */
export const MIN_SERVER_HOLD = 3;
/** sendMessage's text limit (1–4096 characters). */
export const MAX_TEXT_LENGTH = 4096;
/** What the bridge asks for: group messages only (the setting persists on the server). */
export const ALLOWED_UPDATES = ["message"];

export interface BotApi {
  /** Base URL without a trailing slash. */
  base: string;
  token: string;
}

export function botApi(token: string, api: string | undefined): BotApi {
  return { base: (api ?? DEFAULT_API).replace(/\/+$/, ""), token };
}

function methodUrl(api: BotApi, method: string): string {
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

/** A short, single-line excerpt of a body for logs and errors. */
export function snippet(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

type Answer = { ok?: unknown; result?: unknown; error_code?: unknown; description?: unknown; parameters?: unknown };

/** Reads an answer: the result of `{"ok":true}`; throws ApiError or BadAnswerError otherwise. */
export async function readAnswer(res: StreamResponse, method: string): Promise<unknown> {
  const text = await res.text();
  let data: Answer;
  try {
    data = JSON.parse(text) as Answer;
  } catch {
    if (res.status !== 200) throw new ApiError(method, res.status, `HTTP ${res.status}: ${snippet(text)}`);
    throw new BadAnswerError(method, res.status, `malformed body: ${snippet(text)}`);
  }
  if (data === null || typeof data !== "object" || typeof data.ok !== "boolean") {
    if (res.status !== 200) throw new ApiError(method, res.status, `HTTP ${res.status}: ${snippet(text)}`);
    throw new BadAnswerError(method, res.status, `not a Bot API answer: ${snippet(text)}`);
  }
  if (data.ok) return data.result;
  const params = (typeof data.parameters === "object" && data.parameters !== null ? data.parameters : {}) as Record<string, unknown>;
  const retryAfter = params.retry_after;
  const migrate = params.migrate_to_chat_id;
  throw new ApiError(method, typeof data.error_code === "number" ? data.error_code : res.status, typeof data.description === "string" ? data.description : "(no description)", {
    ...(typeof retryAfter === "number" && retryAfter >= 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    ...(typeof migrate === "number" || typeof migrate === "string" ? { migrateToChatId: String(migrate) } : {}),
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
  const r = result as { id?: unknown; username?: unknown } | null;
  if (typeof r?.id !== "number" && typeof r?.id !== "string") throw new BadAnswerError("getMe", 200, "no bot id in the answer");
  return { id: String(r.id), ...(typeof r.username === "string" ? { username: r.username } : {}) };
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

export function sendMessageRequest(api: BotApi, target: GroupTarget, text: string): RequestSpec {
  return {
    method: "POST",
    url: methodUrl(api, "sendMessage"),
    // Plain text: no parse_mode, so "<", "&" and "*" arrive as typed.
    json: { chat_id: target.chatId, text, ...(target.threadId === undefined ? {} : { message_thread_id: target.threadId }) },
    secrets: [api.token],
    // Never resent here: after the request left, only the server knows whether it was delivered.
    retry: false,
    name: "sendMessage",
  };
}
