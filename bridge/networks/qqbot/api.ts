// The QQ bot OpenAPI as request builders and one answer reader (protocols.md §6.1–6.4). Every
// request that carries the access token lists it in `secrets`, so no log line can show it.
import type { RequestSpec, StreamResponse } from "../../../src/index.ts";
import { snippet } from "../shared/snippet.ts";

export const DEFAULT_API = "https://api.sgroup.qq.com";
export const DEFAULT_TOKEN_URL = "https://bots.qq.com/app/getAppAccessToken";

/** Expired or unknown access token (HTTP 401; botgo APICodeTokenExpireOrNotExist). */
export const CODE_TOKEN_EXPIRED = 11244;

export interface QqbotApi {
  /** OpenAPI base, no trailing slash. */
  base: string;
  tokenUrl: string;
  appId: string;
}

export function qqbotApi(appId: string, api: string | undefined, tokenUrl: string | undefined): QqbotApi {
  return { base: (api ?? DEFAULT_API).replace(/\/+$/, ""), tokenUrl: tokenUrl ?? DEFAULT_TOKEN_URL, appId };
}

/** An error answer: `{message, code, err_code, trace_id}` with its HTTP status (code = status when the body has none). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  readonly traceId?: string;
  readonly data?: unknown;
  constructor(what: string, status: number, code: number, message: string, traceId?: string, data?: unknown) {
    super(`${what}: HTTP ${status} code ${code} ${message}${traceId ? ` (trace ${traceId})` : ""}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    if (traceId !== undefined) this.traceId = traceId;
    if (data !== undefined) this.data = data;
  }

  /** The access token was refused: one refresh and one retry may fix it. */
  get tokenRefused(): boolean {
    return this.status === 401 || this.code === CODE_TOKEN_EXPIRED;
  }
}

/** A body that is not JSON where JSON was due (a proxy's HTML page, a cut body). */
export class BadAnswerError extends Error {
  readonly status: number;
  constructor(what: string, status: number, detail: string) {
    super(`${what}: HTTP ${status}: ${detail}`);
    this.name = "BadAnswerError";
    this.status = status;
  }
}

/**
 * Reads an OpenAPI answer: the JSON body of a 2xx without an error `code`; throws ApiError for an
 * error status or an error body, BadAnswerError for a 2xx that is not JSON.
 */
export async function readAnswer(res: StreamResponse, what: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  let data: unknown;
  try {
    data = text === "" ? {} : JSON.parse(text);
  } catch {
    if (res.status >= 300) throw new ApiError(what, res.status, res.status, snippet(text));
    throw new BadAnswerError(what, res.status, `malformed body: ${snippet(text)}`);
  }
  const body = (typeof data === "object" && data !== null && !Array.isArray(data) ? data : {}) as Record<string, unknown>;
  const code = typeof body.code === "number" ? body.code : typeof body.err_code === "number" ? body.err_code : undefined;
  if (res.status >= 300 || (code !== undefined && code !== 0)) {
    const message = typeof body.message === "string" ? body.message : snippet(text);
    const trace = typeof body.trace_id === "string" ? body.trace_id : undefined;
    throw new ApiError(what, res.status, code ?? res.status, message, trace, body.data);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new BadAnswerError(what, res.status, `not an object: ${snippet(text)}`);
  return body;
}

export function tokenRequest(api: QqbotApi, secret: string): RequestSpec {
  // appId must be a JSON string and the body JSON (a form body answers 100002/100007).
  return {
    method: "POST",
    url: api.tokenUrl,
    json: { appId: api.appId, clientSecret: secret },
    secrets: [secret],
    // Asking again is harmless: the endpoint hands out the same token while it is valid.
    retrySafe: true,
    retry: { statuses: [429, 500, 502, 503, 504] },
    name: "getAppAccessToken",
  };
}

/** Headers of every OpenAPI call. */
export function authHeaders(api: QqbotApi, token: string): Record<string, string> {
  return { authorization: `QQBot ${token}`, "x-union-appid": api.appId };
}

export function gatewayRequest(api: QqbotApi, token: string): RequestSpec {
  return { url: `${api.base}/gateway/bot`, headers: authHeaders(api, token), secrets: [token], retry: { statuses: [] }, name: "gateway/bot" };
}

export function meRequest(api: QqbotApi, token: string): RequestSpec {
  return { url: `${api.base}/users/@me`, headers: authHeaders(api, token), secrets: [token], retry: { statuses: [] }, name: "users/@me" };
}

/** A message send: never resent here (after the request left, only the server knows what it did). */
export function postRequest(api: QqbotApi, token: string, path: string, json: Record<string, unknown>, timeout: number): RequestSpec {
  return { method: "POST", url: `${api.base}${path}`, headers: authHeaders(api, token), json, secrets: [token], retry: false, timeout, name: `POST ${path.replace(/\/[^/]+\/messages$/, "/:id/messages")}` };
}
