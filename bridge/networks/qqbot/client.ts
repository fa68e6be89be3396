// One OpenAPI call with the access token: a call refused for an expired token (401 / 11244)
// gets one token refresh and one retry (a 401 means the server did nothing, so the retry is safe
// even for a send).
import type { HTTPStream, RequestSpec } from "../../../src/index.ts";
import { ApiError, readAnswer } from "./api.ts";
import type { AccessToken } from "./token.ts";

/** No token could be had in time: the request was never sent. */
export class TokenUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`no access token: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = "TokenUnavailableError";
  }
}

async function tokenOr(p: Promise<string>): Promise<string> {
  try {
    return await p;
  } catch (err) {
    throw new TokenUnavailableError(err);
  }
}

export async function callApi(stream: HTTPStream, token: AccessToken, build: (token: string) => RequestSpec, what: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const first = await tokenOr(token.get(signal));
  try {
    return await readAnswer(await stream.request(build(first), { signal }), what);
  } catch (err) {
    if (!(err instanceof ApiError) || !err.tokenRefused) throw err;
    const fresh = await tokenOr(token.refresh(first, signal));
    return await readAnswer(await stream.request(build(fresh), { signal }), what);
  }
}
