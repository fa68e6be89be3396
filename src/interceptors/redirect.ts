// Follows redirects below whoever sent the request, the way browsers do: 303 turns anything but
// HEAD into GET, 301/302 turn POST into GET, 307/308 keep method and body; Authorization, Cookie
// and Proxy-Authorization set by hand do not cross to another origin. A 3xx body is discarded.
// More than `maxRedirects` hops, or a Location that is not a usable http(s) URL, fails with
// RedirectError; `maxRedirects: 0` (dispatch option) hands the 3xx over unchanged.
// Put cookies({ jar }) BEFORE it in compose()'s list, so each hop's Set-Cookie is kept and sent.
// Errors of hops after the first carry `requestSent: true`: the first hop was answered.
// Usable alone: `new Agent().compose(cookies({ jar }), redirect())`.
import type { Dispatcher } from "undici";
import { RedirectError } from "../errors.ts";
import { redactUrl } from "../redact.ts";
import { type Hop, isRedirectStatus, parseUrl, redirectHop } from "../request.ts";
import { type Controller, ForwardingHandler, type Handler, type Headers } from "./forwarding-handler.ts";
import { headerRecord, originOf, responseHeader } from "./dispatch-options.ts";
import { markRequestSent } from "./request-sent.ts";

export const DEFAULT_MAX_REDIRECTS = 10;

export interface RedirectOptions {
  /** Default 10. */
  maxRedirects?: number;
}

/** Dispatch options this interceptor reads. */
export interface RedirectDispatchOptions {
  /** This request's limit (0: no redirect is followed). */
  maxRedirects?: number;
  /** Called before each hop is sent, e.g. to log it. */
  onRedirect?: (info: { status: number; from: string; to: string }) => void;
}

type Opts = Dispatcher.DispatchOptions & RedirectDispatchOptions;


class RedirectFollower extends ForwardingHandler {
  private readonly dispatch: Dispatcher.Dispatch;
  private opts: Opts;
  private left: number;
  private hops = 0;
  /** Set while the current response is a 3xx being followed: its body is dropped. */
  private following: Hop | RedirectError | undefined = undefined;

  constructor(dispatch: Dispatcher.Dispatch, opts: Opts, handler: Handler, left: number) {
    super(handler);
    this.dispatch = dispatch;
    this.opts = opts;
    this.left = left;
  }

  private href(): string {
    return originOf(this.opts.origin) + this.opts.path;
  }

  override onRequestStart(controller: Controller, context: unknown): void {
    // After a redirect the caller learns the final URL from the context (undici's request()
    // hands it over as `data.context`).
    this.next.onRequestStart?.(controller, this.hops === 0 ? context : { ...(context as object | null), redirectedTo: this.href() });
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    const location = isRedirectStatus(statusCode) ? responseHeader(headers as Record<string, string | string[] | undefined>, "location") : undefined;
    const body = this.opts.body;
    const replayable = body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array;
    // A streamed body cannot be sent twice: its 3xx is handed over as it is.
    if (location === undefined || !replayable) return this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
    const here = this.href();
    const hop: Hop = {
      url: parseUrl(here),
      method: this.opts.method,
      headers: headerRecord(this.opts.headers),
      sharedHeaders: false,
      body: body ?? undefined,
      userCookie: undefined,
    };
    hop.userCookie = hop.headers.cookie;
    const next = redirectHop(hop, statusCode, location);
    if (next === undefined) this.following = new RedirectError("redirect to an unusable Location", redactUrl(here));
    else if (this.left === 0) this.following = new RedirectError("too many redirects", redactUrl(here));
    else {
      this.following = next;
      this.opts.onRedirect?.({ status: statusCode, from: here, to: next.url.href });
    }
  }

  override onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.following === undefined) this.next.onResponseData?.(controller, chunk);
  }

  override onResponseEnd(controller: Controller, trailers: Headers): void {
    const following = this.following;
    if (following === undefined) return this.next.onResponseEnd?.(controller, trailers);
    this.following = undefined;
    if (following instanceof RedirectError) return this.next.onResponseError?.(controller, following);
    this.left--;
    this.hops++;
    const { url, method, headers, body } = following;
    this.opts = { ...this.opts, origin: url.origin, path: url.path, method: method as Dispatcher.HttpMethod, headers, body };
    try {
      this.dispatch(this.opts, this);
    } catch (err) {
      this.onResponseError(controller, err as Error);
    }
  }

  override onResponseError(controller: Controller, error: Error): void {
    if (this.hops > 0) markRequestSent(error, true); // the first hop was answered
    this.next.onResponseError?.(controller, error);
  }
}

export function redirect(options: RedirectOptions = {}): Dispatcher.DispatcherComposeInterceptor {
  const max = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  return (dispatch) =>
    function dispatchFollowing(opts: Opts, handler: Handler): boolean {
      const left = opts.maxRedirects ?? max;
      if (left === 0) return dispatch(opts, handler);
      return dispatch(opts, new RedirectFollower(dispatch, opts, handler, left));
    };
}
