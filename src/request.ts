// Turns a RequestSpec into what undici sends (a "hop"), and computes the hop after a redirect.
import { RequestSpecError } from "./errors.ts";
import type { RequestSpec } from "./types.ts";

/** The parts of a URL a request needs. Parsed once per distinct URL string (see parseUrl). */
export interface ParsedUrl {
  readonly href: string;
  readonly origin: string;
  /** pathname + search, what goes on the request line. */
  readonly path: string;
  readonly hostname: string;
}

/** One concrete HTTP exchange: the request after defaults, query and body encoding. */
export interface Hop {
  url: ParsedUrl;
  method: string;
  /** Lowercased header names. The cookie header is set per attempt, on a copy while `sharedHeaders`. */
  headers: Record<string, string>;
  /** headers is the stream's defaults object itself (nothing to add): copy before writing. */
  sharedHeaders: boolean;
  body: string | Uint8Array | undefined;
  /** A Cookie header the caller set by hand; jar cookies are appended to it. */
  userCookie: string | undefined;
}

// Chains send the same few URLs again and again; WHATWG URL parsing is the costliest step of
// preparing a request, so distinct URL strings are parsed once. Bounded: cleared when full.
const PARSED = new Map<string, ParsedUrl>();
const PARSED_MAX = 1024;

function fromURL(u: URL): ParsedUrl {
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new RequestSpecError(`unsupported protocol ${u.protocol} (http: and https: only)`);
  }
  return { href: u.href, origin: u.origin, path: u.pathname + u.search, hostname: u.hostname };
}

export function parseUrl(url: string | URL, base?: string): ParsedUrl {
  if (typeof url !== "string") return fromURL(url);
  if (base === undefined) {
    const hit = PARSED.get(url);
    if (hit !== undefined) return hit;
  }
  let u: URL;
  try {
    u = new URL(url, base);
  } catch {
    throw new RequestSpecError("RequestSpec.url is not an absolute URL");
  }
  const parsed = fromURL(u);
  if (base === undefined) {
    if (PARSED.size >= PARSED_MAX) PARSED.clear();
    PARSED.set(url, parsed);
  }
  return parsed;
}

/** The spec's URL with its `query` appended. */
function withQuery(spec: RequestSpec): string | URL {
  const query = spec.query;
  if (query === undefined) return spec.url;
  let u: URL;
  try {
    u = new URL(spec.url);
  } catch {
    throw new RequestSpecError("RequestSpec.url is not an absolute URL");
  }
  for (const key in query) {
    const v = query[key];
    if (v !== undefined && v !== null) u.searchParams.append(key, String(v));
  }
  return u;
}

/** Lowercases header names once, so merging is a plain property write. */
export function lowerHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && value !== null) out[name.toLowerCase()] = String(value);
  }
  return out;
}

export function prepareHop(spec: RequestSpec, defaultHeaders: Record<string, string>): Hop {
  if (spec === null || typeof spec !== "object" || (typeof spec.url !== "string" && !(spec.url instanceof URL))) {
    throw new RequestSpecError("a RequestSpec needs a url (string or URL)");
  }
  if (spec.maxBodySize !== undefined && !(spec.maxBodySize > 0)) throw new RequestSpecError("RequestSpec.maxBodySize must be a positive number of bytes (Infinity: no cap)");
  const url = parseUrl(withQuery(spec));
  const own = spec.headers;
  // Most requests add no header of their own: they share the defaults object until a cookie is set.
  if (own === undefined && spec.form === undefined && spec.json === undefined) {
    const method = spec.method !== undefined ? spec.method.toUpperCase() : spec.body === undefined ? "GET" : "POST";
    if ((method === "GET" || method === "HEAD") && spec.body !== undefined) throw new RequestSpecError(`a ${method} request cannot have a body`);
    return { url, method, headers: defaultHeaders, sharedHeaders: true, body: spec.body, userCookie: defaultHeaders.cookie };
  }
  const headers: Record<string, string> = { ...defaultHeaders };
  if (own !== undefined) {
    for (const name in own) {
      const value = own[name];
      if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
    }
  }
  let body: string | Uint8Array | undefined;
  let bodies = 0;
  if (spec.body !== undefined) {
    body = spec.body;
    bodies++;
  }
  if (spec.form !== undefined) {
    body = new URLSearchParams(spec.form).toString();
    headers["content-type"] ??= "application/x-www-form-urlencoded";
    bodies++;
  }
  if (spec.json !== undefined) {
    body = JSON.stringify(spec.json);
    headers["content-type"] ??= "application/json";
    bodies++;
  }
  if (bodies > 1) throw new RequestSpecError("RequestSpec has more than one of body, form and json");
  const method = spec.method !== undefined ? spec.method.toUpperCase() : body === undefined ? "GET" : "POST";
  if ((method === "GET" || method === "HEAD") && body !== undefined) {
    throw new RequestSpecError(`a ${method} request cannot have a body`);
  }
  const userCookie = headers.cookie;
  return { url, method, headers, sharedHeaders: false, body, userCookie };
}

export function isRedirectStatus(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/**
 * The hop after a redirect, following the fetch standard: 303 turns anything but HEAD into GET,
 * 301/302 turn POST into GET, 307/308 keep method and body. Credentials set by hand (Authorization,
 * Cookie) do not cross to another origin; jar cookies are chosen per URL anyway.
 */
export function redirectHop(hop: Hop, status: number, location: string): Hop | undefined {
  let url: ParsedUrl;
  try {
    url = parseUrl(location, hop.url.href);
  } catch {
    return undefined;
  }
  const headers = { ...hop.headers };
  let { method, body, userCookie } = hop;
  if ((status === 303 && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
    method = "GET";
    body = undefined;
    delete headers["content-type"];
    delete headers["content-length"];
  }
  if (url.origin !== hop.url.origin) {
    delete headers.authorization;
    delete headers["proxy-authorization"];
    delete headers.cookie;
    userCookie = undefined;
  }
  return { url, method, headers, sharedHeaders: false, body, userCookie };
}
