// OneBot 11 HTTP API calls (protocols.md §2.1): `POST {api}/{action}` with JSON and a Bearer
// token; answers are `{status, retcode, data}`, usually with HTTP 200 even on failure.
import { z } from "zod";
import type { RequestSpec, StreamResponse } from "../../../src/index.ts";
import { snippet } from "../shared/snippet.ts";

/** The answer envelope (HTTP body or socket frame), read leniently where the implementations differ. */
const Answer = z.looseObject({
  status: z.enum(["ok", "async", "failed"]),
  retcode: z.number().optional().catch(undefined),
  data: z.unknown(),
});

/** Why an action did not succeed. `auth`: 401/403; `failed`: status "failed"; `http`: another status; `malformed`: unreadable body. */
export type ActionFailure = "auth" | "failed" | "http" | "malformed";

export class ActionError extends Error {
  readonly kind: ActionFailure;
  readonly httpStatus: number;
  readonly retcode: number | undefined;
  /** The server's own words (msg/wording/message), for classification and logs. */
  readonly serverMessage: string;
  readonly retryAfter: string | undefined;
  constructor(action: string, kind: ActionFailure, httpStatus: number, detail: { retcode?: number; serverMessage?: string; retryAfter?: string } = {}) {
    const what = kind === "failed" ? `failed (retcode ${detail.retcode})` : kind === "malformed" ? "malformed answer" : `HTTP ${httpStatus}`;
    super(`${action}: ${what}${detail.serverMessage ? `: ${detail.serverMessage}` : ""}`);
    this.name = "ActionError";
    this.kind = kind;
    this.httpStatus = httpStatus;
    this.retcode = detail.retcode;
    this.serverMessage = detail.serverMessage ?? "";
    this.retryAfter = detail.retryAfter;
  }
}

export interface ApiTarget {
  /** Base URL, e.g. http://127.0.0.1:5700 (a path prefix is kept). */
  api: string;
  token?: string;
}

/** `{api}/{name}` whatever the base URL's trailing slashes. */
export function endpoint(api: string, name: string): string {
  return `${api.replace(/\/+$/, "")}/${name}`;
}

/** Authorization header and the secrets to redact. */
export function auth(t: ApiTarget): { headers: Record<string, string>; secrets: string[] } {
  if (t.token === undefined || t.token === "") return { headers: {}, secrets: [] };
  return { headers: { authorization: `Bearer ${t.token}` }, secrets: [t.token] };
}

export function actionRequest(t: ApiTarget, action: string, params: Record<string, unknown>, extra: Partial<RequestSpec> = {}): RequestSpec {
  const a = auth(t);
  return { method: "POST", url: endpoint(t.api, action), json: params, headers: a.headers, secrets: a.secrets, name: action, ...extra };
}

function serverWords(body: Record<string, unknown>): string {
  return [body.msg, body.wording, body.message].filter((v): v is string => typeof v === "string" && v !== "").join(" / ");
}

/** An action's `data` on `status: "ok"` (or "async"); throws ActionError otherwise. */
export async function readAction(res: StreamResponse, action: string): Promise<unknown> {
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // handled below
  }
  const retryAfter = typeof res.headers["retry-after"] === "string" ? res.headers["retry-after"] : undefined;
  if (res.status === 401 || res.status === 403) {
    throw new ActionError(action, "auth", res.status, { serverMessage: body ? serverWords(body) : snippet(text) });
  }
  if (res.status !== 200) {
    throw new ActionError(action, "http", res.status, { serverMessage: body ? serverWords(body) : snippet(text), retcode: typeof body?.retcode === "number" ? body.retcode : undefined, retryAfter });
  }
  if (body === undefined) throw new ActionError(action, "malformed", 200, { serverMessage: snippet(text) });
  return answerData(body, action, 200);
}

/**
 * The `data` of an answer body (HTTP or a socket frame); throws ActionError otherwise. On a
 * socket, 1401/1403 are the spec's auth failures (communication/ws.md).
 */
export function answerData(body: Record<string, unknown>, action: string, httpStatus = 200): unknown {
  const parsed = Answer.safeParse(body);
  if (!parsed.success) throw new ActionError(action, "malformed", httpStatus, { serverMessage: snippet(JSON.stringify(body) ?? "") });
  const a = parsed.data;
  if (a.status !== "failed") return a.data;
  const kind = a.retcode === 1401 || a.retcode === 1403 ? "auth" : "failed";
  throw new ActionError(action, kind, httpStatus, { retcode: a.retcode, serverMessage: serverWords(body) });
}

/**
 * A socket action that never left (no socket, or the write failed): certainly not run.
 * `requestSent: false`, as HTTPStream marks its own errors.
 */
export class ActionNotSentError extends Error {
  readonly requestSent = false;
  constructor(action: string, why: string) {
    super(`${action}: not sent: ${why}`);
    this.name = "ActionNotSentError";
  }
}

/** A socket action that was written but whose answer never came (timeout, socket lost): it may have run. */
export class ActionLostError extends Error {
  readonly requestSent = true;
  constructor(action: string, why: string) {
    super(`${action}: no answer: ${why}`);
    this.name = "ActionLostError";
  }
}

export interface LoginInfo {
  userId: number;
  nickname: string;
}

const LoginInfo = z.looseObject({
  user_id: z.union([z.number().int().refine(Number.isSafeInteger), z.string().regex(/^\d{1,15}$/).transform(Number)]),
  nickname: z.string().optional().catch(undefined),
});

export function parseLoginInfo(data: unknown): LoginInfo {
  const parsed = LoginInfo.safeParse(data);
  if (!parsed.success) throw new ActionError("get_login_info", "malformed", 200, { serverMessage: "no user_id" });
  return { userId: parsed.data.user_id, nickname: parsed.data.nickname ?? "" };
}
