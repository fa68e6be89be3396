// A tough-cookie jar on the dispatcher: every request carries the jar's cookies for its URL (after
// any Cookie header set by hand), and every Set-Cookie is stored, 3xx responses included. Put it
// BEFORE a redirect interceptor in compose()'s list (the last one listed is the outermost): then
// every hop passes through it, and a cookie set on a 302 is sent on the next hop.
// Usable alone: `new Agent().compose(cookies({ jar }), redirect())`.
// A synchronous store (the default MemoryCookieStore) is read and written synchronously; an async
// store delays the dispatch until its cookies are read, and the response until its cookies are stored.
import type { Dispatcher } from "undici";
import { type CookieJar, MemoryCookieStore } from "tough-cookie";
import { type Controller, ForwardingHandler, type Handler, type Headers } from "./forwarding-handler.ts";
import { headerRecord, originOf } from "./dispatch-options.ts";

export interface CookiesOptions {
  jar: CookieJar;
}


type Replay = () => void;

class CookieCatcher extends ForwardingHandler {
  private readonly jar: CookieJar;
  private readonly sync: boolean;
  private readonly opts: Dispatcher.DispatchOptions;
  /** Async store only: callbacks held back until the response's cookies are stored. */
  private held: Replay[] | undefined = undefined;

  constructor(next: Handler, jar: CookieJar, sync: boolean, opts: Dispatcher.DispatchOptions) {
    super(next);
    this.jar = jar;
    this.sync = sync;
    this.opts = opts;
  }

  /** The URL cookies are stored for, made only when a response sets one. */
  private get url(): string {
    return originOf(this.opts.origin) + this.opts.path;
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    const setCookie = (headers as Record<string, string | string[] | undefined>)["set-cookie"];
    if (setCookie !== undefined) {
      const list = typeof setCookie === "string" ? [setCookie] : setCookie;
      if (this.sync) {
        const url = this.url;
        for (const c of list) this.jar.setCookieSync(c, url, { ignoreError: true });
      } else {
        this.held = [];
        controller.pause();
        void this.store(list).then(() => {
          const held = this.held!;
          this.held = undefined;
          this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
          for (const replay of held) replay();
          controller.resume();
        });
        return;
      }
    }
    this.next.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  private async store(list: string[]): Promise<void> {
    const url = this.url;
    for (const c of list) {
      try {
        await this.jar.setCookie(c, url, { ignoreError: true });
      } catch {
        // A store that fails loses this cookie, not the response.
      }
    }
  }

  override onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.held !== undefined) this.held.push(() => this.next.onResponseData?.(controller, chunk));
    else this.next.onResponseData?.(controller, chunk);
  }

  override onResponseEnd(controller: Controller, trailers: Headers): void {
    if (this.held !== undefined) this.held.push(() => this.next.onResponseEnd?.(controller, trailers));
    else this.next.onResponseEnd?.(controller, trailers);
  }

  override onResponseError(controller: Controller, error: Error): void {
    if (this.held !== undefined) this.held.push(() => this.next.onResponseError?.(controller, error));
    else this.next.onResponseError?.(controller, error);
  }
}

/** The request's headers with the jar's cookies after any set by hand. */
function withCookies(opts: Dispatcher.DispatchOptions, jarCookies: string): Dispatcher.DispatchOptions {
  if (jarCookies === "") return opts;
  const headers = headerRecord(opts.headers);
  headers.cookie = headers.cookie === undefined || headers.cookie === "" ? jarCookies : `${headers.cookie}; ${jarCookies}`;
  return { ...opts, headers };
}

export function cookies({ jar }: CookiesOptions): Dispatcher.DispatcherComposeInterceptor {
  const store = (jar as unknown as { store?: unknown }).store;
  const sync = (store as { synchronous?: boolean } | undefined)?.synchronous === true;
  // The in-memory store's index lets a request skip the jar (its costliest step) when no cookie
  // can match its host.
  const idx = store instanceof MemoryCookieStore ? store.idx : undefined;
  const hostnames = new Map<string, string>();

  const mayHaveCookies = (origin: string): boolean => {
    if (idx === undefined) return true;
    let hostname = hostnames.get(origin);
    if (hostname === undefined) {
      hostname = URL.parse(origin)?.hostname ?? "";
      if (hostnames.size > 1024) hostnames.clear();
      hostnames.set(origin, hostname);
    }
    if (hostname === "" || hostname.charCodeAt(0) === 91 /* "[" IPv6 */) return true;
    // A host ending in a digit is an IPv4 address (WHATWG URL): only host-only cookies can match.
    const last = hostname.charCodeAt(hostname.length - 1);
    if (last >= 48 && last <= 57) return idx[hostname] !== undefined;
    let domain = hostname;
    for (;;) {
      if (idx[domain] !== undefined) return true;
      const dot = domain.indexOf(".");
      if (dot < 0) return false;
      domain = domain.slice(dot + 1);
    }
  };

  return (dispatch) =>
    function dispatchWithCookies(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
      const origin = originOf(opts.origin);
      const catcher = new CookieCatcher(handler, jar, sync, opts);
      if (!mayHaveCookies(origin)) return dispatch(opts, catcher);
      const url = origin + opts.path;
      if (sync) return dispatch(withCookies(opts, jar.getCookieStringSync(url)), catcher);
      jar.getCookieString(url).then(
        (c) => dispatch(withCookies(opts, c), catcher),
        (err: Error) => catcher.onResponseError(null as unknown as Controller, err),
      );
      return true;
    };
}
