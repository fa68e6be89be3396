// Whether a send that failed in transport can have reached the server: the one rule every
// network's send uses. Known, not guessed: HTTPStream errors say `requestSent` when undici knows
// it; without that, only failures that happen before a byte left (connect, DNS) prove nothing
// was delivered. Everything else (a reset, a stall past the timeout, a cut body) may follow a delivery.
import { classifyFailure } from "../../../src/index.ts";

/** The `requestSent` an error (or one of its causes) carries, if any. */
function requestSent(err: unknown): boolean | undefined {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const sent = (e as { requestSent?: unknown }).requestSent;
    if (typeof sent === "boolean") return sent;
  }
  return undefined;
}

/** "retry" when the request certainly never fully left, else "unknown" (maybe delivered). */
export function transportSendKind(err: unknown): "retry" | "unknown" {
  const sent = requestSent(err);
  if (sent !== undefined) return sent ? "unknown" : "retry";
  return classifyFailure(err) === "before-send" ? "retry" : "unknown";
}

/**
 * Whether a maybe-delivered failure ended with the server done with the request (it answered,
 * or closed the connection), as opposed to a timeout, after which it may still act on it. Only
 * then does its own echo, if it delivered, already exist (SendError.serverDone).
 */
export function serverDone(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if ((typeof code === "string" && code.includes("TIMEOUT")) || code === "ETIMEDOUT" || name === "TimeoutError") return false;
  }
  return true;
}

/** Whether the request certainly never fully left (a resend cannot duplicate it). */
export function neverSent(err: unknown): boolean {
  return transportSendKind(err) === "retry";
}
