// OneBot 12 action calls over HTTP (protocols.md §3): every action is `POST {url}` with a JSON body
// {action, params, self?}; the token goes in `Authorization: Bearer`. Errors before the body is
// read are HTTP statuses (401 auth, 415 content type); after it, HTTP 200 with status "failed".
import type { HTTPStream, RequestSpec, StreamResponse } from "../../../src/index.ts";
import { parseRetryAfter, redactText } from "../../../src/index.ts";
import { ActionResponseSchema } from "./schema.ts";
import { snippet } from "../shared/snippet.ts";

/** Which bot an action is for, when several share the connection. */
export interface BotSelf {
  platform: string;
  user_id: string;
}

export interface ActionTarget {
  url: string;
  accessToken?: string;
}

/** Why an action did not answer `status: "ok"`. Transport errors are not wrapped: they pass through. */
export type ActionFailure =
  | { kind: "auth"; status: number } // 401 (spec) or 403 (some implementations)
  | { kind: "http"; status: number; retryAfterMs?: number } // any other non-200
  | { kind: "failed"; retcode: number; message: string } // HTTP 200, status "failed"
  | { kind: "malformed"; detail: string }; // not a OneBot response at all

export class ActionError extends Error {
  readonly action: string;
  readonly failure: ActionFailure;
  constructor(action: string, failure: ActionFailure) {
    super(`${action}: ${describeFailure(failure)}`);
    this.name = "ActionError";
    this.action = action;
    this.failure = failure;
  }
  /** The retcode of a "failed" answer, else undefined. */
  get retcode(): number | undefined {
    return this.failure.kind === "failed" ? this.failure.retcode : undefined;
  }
}

export function describeFailure(f: ActionFailure): string {
  switch (f.kind) {
    case "auth":
      return `HTTP ${f.status}: the server refused the access_token (check access_token in the config)`;
    case "http":
      return `HTTP ${f.status}`;
    case "failed":
      return `retcode ${f.retcode}${f.message === "" ? "" : ` (${snippet(f.message)})`}`;
    case "malformed":
      return f.detail;
  }
}

const MAX_RETRY_AFTER_MS = 86_400_000;

/** Meta actions never take `self` (spec: interface/meta/actions.md). */
const META_ACTIONS: ReadonlySet<string> = new Set(["get_latest_events", "get_supported_actions", "get_status", "get_version"]);

export interface ActionOptions {
  self?: BotSelf | null;
  longPoll?: boolean;
  timeout?: number;
  /** Reads may be retried after a reset; sends must not (a second send is a duplicate). */
  retrySafe?: boolean;
  retry?: RequestSpec["retry"];
}

export function actionRequest(target: ActionTarget, action: string, params: Record<string, unknown>, o: ActionOptions = {}): RequestSpec {
  const body: Record<string, unknown> = { action, params };
  if (o.self && !META_ACTIONS.has(action)) body.self = o.self;
  const token = target.accessToken;
  return {
    method: "POST",
    url: target.url,
    json: body,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    secrets: token ? [token] : [],
    name: action,
    ...(o.longPoll === undefined ? {} : { longPoll: o.longPoll }),
    ...(o.timeout === undefined ? {} : { timeout: o.timeout }),
    ...(o.retrySafe === undefined ? {} : { retrySafe: o.retrySafe }),
    // Statuses go to readAction: a 401 must reach the caller at once, not after five retries.
    retry: o.retry ?? { statuses: [] },
  };
}

/** The `data` of an ok answer; throws ActionError for everything else. */
export async function readAction(res: StreamResponse, action: string): Promise<unknown> {
  const text = await res.text();
  if (res.status === 401 || res.status === 403) throw new ActionError(action, { kind: "auth", status: res.status });
  if (res.status !== 200) {
    // A wait must stay a number: more than a day (or an absurd header) is taken as a day.
    const asked = parseRetryAfter(res.headers["retry-after"]);
    const retryAfterMs = asked === undefined || Number.isNaN(asked) ? undefined : Math.max(0, Math.min(asked, MAX_RETRY_AFTER_MS));
    throw new ActionError(action, { kind: "http", status: res.status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ActionError(action, { kind: "malformed", detail: `malformed body: ${snippet(text)}` });
  }
  const parsed = ActionResponseSchema.safeParse(data);
  if (!parsed.success) throw new ActionError(action, { kind: "malformed", detail: `not a response object: ${snippet(text)}` });
  const { status, retcode, message } = parsed.data;
  if (status === "ok" && (retcode === 0 || retcode === undefined)) return parsed.data.data;
  if (status === "failed" || (retcode !== undefined && retcode !== 0)) {
    if (retcode === undefined) throw new ActionError(action, { kind: "malformed", detail: `failed without a retcode: ${snippet(text)}` });
    throw new ActionError(action, { kind: "failed", retcode, message: message ?? "" });
  }
  throw new ActionError(action, { kind: "malformed", detail: `no status: ${snippet(text)}` });
}

/** One action as a one-shot request: its data, or an ActionError / transport error. */
export async function callAction(
  stream: HTTPStream,
  target: ActionTarget,
  action: string,
  params: Record<string, unknown>,
  o: ActionOptions & { signal?: AbortSignal } = {},
): Promise<unknown> {
  const res = await stream.request(actionRequest(target, action, params, o), { signal: o.signal });
  return await readAction(res, action);
}

/** An error's message safe to log: URLs redacted (a token may sit in the configured url's query) and the token removed. */
export function safeMessage(err: unknown, target: ActionTarget): string {
  const text = err instanceof Error ? err.message : String(err);
  return redactText(text, target.accessToken ? [target.accessToken] : []);
}
