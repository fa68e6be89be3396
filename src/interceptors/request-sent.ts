// "Was the request sent?", from undici's own handler callbacks rather than guessed from error
// codes. Every error a request fails with carries `requestSent: boolean`:
// - false: undici never finished handing the whole request to the socket (connect refused, DNS,
//   a socket that died while the body was still being written). The server cannot have acted on
//   a request it never received whole, so resending it is safe for any method.
// - true: the whole request was written (onRequestSent), or an answer began (onResponseStart):
//   the server may have acted on it.
// Usable alone: `new Agent().compose(requestSent())`.
import type { Dispatcher } from "undici";
import { type Controller, ForwardingHandler, type Handler, type Headers } from "./forwarding-handler.ts";
import { headerRecord } from "./dispatch-options.ts";

/**
 * Records the sent state on an error. An error object shared by several requests (undici hands one
 * connect error to every queued request) keeps `true` once any of them may have been sent.
 */
export function markRequestSent(err: unknown, sent: boolean): void {
  if (err === null || typeof err !== "object") return;
  const e = err as { requestSent?: unknown };
  if (e.requestSent === true) return;
  try {
    e.requestSent = sent;
  } catch {
    // A frozen abort reason: nothing to record it on.
  }
}

/** Whether `err` says its request may have reached the server: true, false, or undefined (unknown). */
export function wasRequestSent(err: unknown): boolean | undefined {
  if (err === null || typeof err !== "object") return undefined;
  const sent = (err as { requestSent?: unknown }).requestSent;
  return typeof sent === "boolean" ? sent : undefined;
}

class SentTracker extends ForwardingHandler {
  private sent = false;

  override onRequestSent(): void {
    this.sent = true;
    this.next.onRequestSent?.();
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    this.sent = true; // an answer (even an early one) means the server saw the request
    this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  override onResponseError(controller: Controller, error: Error): void {
    markRequestSent(error, this.sent);
    this.next.onResponseError?.(controller, error);
  }
}

/**
 * Bodies above this are written in chunks, each after the socket drained the one before, so
 * undici's "request sent" comes when the last byte was handed to the kernel, not when the whole
 * body was queued in the socket's memory: a connection cut mid-body then says requestSent: false.
 */
export const STREAMED_BODY = 64 * 1024;

function* bodyChunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += STREAMED_BODY) yield bytes.subarray(i, i + STREAMED_BODY);
}

/** A large string or byte body as drained chunks with its Content-Length; anything else as it is. */
function chunkedLargeBody(opts: Dispatcher.DispatchOptions): Dispatcher.DispatchOptions {
  const body = opts.body;
  if ((typeof body !== "string" && !(body instanceof Uint8Array)) || body.length <= STREAMED_BODY) return opts;
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const headers = { ...headerRecord(opts.headers), "content-length": String(bytes.byteLength) };
  return { ...opts, headers, body: bodyChunks(bytes) as unknown as Dispatcher.DispatchOptions["body"] };
}

export function requestSent(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function dispatchTracked(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
      return dispatch(chunkedLargeBody(opts), new SentTracker(handler));
    };
}
