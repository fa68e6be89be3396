// A cap on the size of a response body, enforced as the bytes arrive: a body larger than the cap
// fails with BodyTooLargeError and its connection is closed, and nothing beyond the cap is ever
// buffered. A Content-Length above the cap fails at the headers, before any of the body is read.
// Usable alone: `new Agent().compose(bodyLimit({ maxBodySize: 1 << 20 }))`; a request may carry
// its own `maxBodySize` dispatch option (Infinity: no cap).
import type { Dispatcher } from "undici";
import { BodyTooLargeError } from "../errors.ts";
import { type Controller, ForwardingHandler, type Handler, type Headers } from "./forwarding-handler.ts";

export const DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024;

export interface BodyLimitOptions {
  /** Bytes; default 8 MiB. Infinity: no cap. */
  maxBodySize?: number;
}

/** Dispatch options this interceptor reads. */
export interface BodyLimitDispatchOptions {
  /** This request's cap in bytes, over the interceptor's. */
  maxBodySize?: number;
}

function header(headers: Headers, name: string): string | undefined {
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

class BodyLimiter extends ForwardingHandler {
  private limit: number;
  private readonly explicit: boolean;
  private readonly opts: Dispatcher.DispatchOptions;
  private received = 0;

  constructor(next: Handler, limit: number, explicit: boolean, opts: Dispatcher.DispatchOptions) {
    super(next);
    this.limit = limit;
    this.explicit = explicit;
    this.opts = opts;
  }

  /** Origin and path (no query: it may hold tokens), made only for the error. */
  private where(): string {
    return `${String(this.opts.origin ?? "")}${this.opts.path.split("?")[0]}`;
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    // An event stream is a stream, not a body: its reader parses it piecewise. Only a cap set on
    // the request itself applies to it.
    if (!this.explicit && header(headers, "content-type")?.startsWith("text/event-stream") === true) this.limit = Infinity;
    const declared = Number(header(headers, "content-length"));
    if (declared > this.limit) {
      controller.abort(new BodyTooLargeError(this.limit, this.where(), declared));
      return;
    }
    this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  override onResponseData(controller: Controller, chunk: Buffer): void {
    this.received += chunk.length;
    if (this.received > this.limit) {
      controller.abort(new BodyTooLargeError(this.limit, this.where(), undefined));
      return;
    }
    this.next.onResponseData?.(controller, chunk);
  }
}

export function bodyLimit(opts: BodyLimitOptions = {}): Dispatcher.DispatcherComposeInterceptor {
  const fallback = opts.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  return (dispatch) =>
    function dispatchLimited(dispatchOpts: Dispatcher.DispatchOptions & BodyLimitDispatchOptions, handler: Handler): boolean {
      const own = dispatchOpts.maxBodySize;
      const limit = own ?? fallback;
      if (limit === Infinity) return dispatch(dispatchOpts, handler);
      return dispatch(dispatchOpts, new BodyLimiter(handler, limit, own !== undefined, dispatchOpts));
    };
}
