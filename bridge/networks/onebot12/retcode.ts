// What a failed send_message means for the relay (protocols.md §3 retcode table). Pure.
import { transportSendKind } from "../shared/request-sent.ts";
import type { ActionFailure } from "./action.ts";

export type SendVerdict = { kind: "retry" | "unknown" | "fatal"; retryAfterMs?: number; reason: string };

/** 10101 Who Am I / 10102 Unknown Self: the `self` we sent (or did not send) is wrong: learn it again. */
export function isSelfError(retcode: number | undefined): boolean {
  return retcode === 10101 || retcode === 10102;
}

/** Wait asked of the relay after "I Am Tired" (36xxx) or a 429 without Retry-After. */
export const TIRED_RETRY_MS = 5_000;
/** Wait asked of the relay while the token is refused: the operator has to fix the config. */
export const AUTH_RETRY_MS = 60_000;

export function classifySendFailure(f: ActionFailure): SendVerdict {
  switch (f.kind) {
    case "auth":
      return { kind: "retry", retryAfterMs: AUTH_RETRY_MS, reason: `HTTP ${f.status}: access_token refused` };
    case "malformed":
      // The server answered something after reading the body: it may have sent the message.
      return { kind: "unknown", reason: f.detail };
    case "http":
      // 429/503 are refusals before any work; 404/405/415 mean the body was never read and never
      // will be (wrong URL or method, spec: connect/communication/http.md). 500/502/504 may come
      // after the handler ran (a proxy timing out on a slow send).
      if (f.status === 429 || f.status === 503) return { kind: "retry", retryAfterMs: f.retryAfterMs ?? TIRED_RETRY_MS, reason: `HTTP ${f.status}` };
      if (f.status === 404 || f.status === 405 || f.status === 415) return { kind: "fatal", reason: `HTTP ${f.status}: the endpoint does not take this request (check url)` };
      return { kind: "unknown", reason: `HTTP ${f.status}` };
    case "failed":
      return classifyRetcode(f.retcode);
  }
}

export function classifyRetcode(retcode: number): SendVerdict {
  const reason = `retcode ${retcode}`;
  if (isSelfError(retcode)) return { kind: "retry", reason: `${reason} (which bot is sending must be learned again)` };
  if (retcode >= 10000 && retcode < 20000) return { kind: "fatal", reason: `${reason} (request error: never accepted as sent)` };
  if (retcode >= 36000 && retcode < 37000) return { kind: "retry", retryAfterMs: TIRED_RETRY_MS, reason: `${reason} (I Am Tired: slow down)` };
  if (retcode >= 35000 && retcode < 36000) return { kind: "fatal", reason: `${reason} (logic error: e.g. no such group)` };
  // 2xxxx handler errors, 31xxx DB, 32xxx FS, 33xxx network (the implementation's call to the
  // platform failed: like our own reset, it may have arrived), 34xxx platform, 6xxxx–9xxxx
  // implementation codes: the handler may have got as far as sending.
  return { kind: "unknown", reason };
}

/** A send that got no answer: a request that never fully left is "retry"; a reset or timeout may have been delivered. */
export function classifySendTransportError(err: unknown): SendVerdict["kind"] {
  return transportSendKind(err);
}
