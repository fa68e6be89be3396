// Turns a RequestSpec into what undici sends (a "hop"), and computes the hop after a redirect.
import { RequestSpecError } from "./errors.ts";
import type { RequestSpec } from "./types.ts";

/** One concrete HTTP exchange: the request after defaults, query and body encoding. */
export interface Hop {
  url: URL;
  method: string;
  /** Lowercased header names; owned by this hop (the cookie header is set per attempt). */
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  /** A Cookie header the caller set by hand; jar cookies are appended to it. */
  userCookie: string | undefined;
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
  let url: URL;
  try {
    url = typeof spec.url === "string" ? new URL(spec.url) : new URL(spec.url.href);
  } catch {
    throw new RequestSpecError("RequestSpec.url is not an absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RequestSpecError(`unsupported protocol ${url.protocol} (http: and https: only)`);
  }
  const query = spec.query;
  if (query !== undefined) {
    for (const key in query) {
      const v = query[key];
      if (v !== undefined && v !== null) url.searchParams.append(key, String(v));
    }
  }
  const headers: Record<string, string> = { ...defaultHeaders };
  const own = spec.headers;
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
  return { url, method, headers, body, userCookie };
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
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
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
  return { url, method, headers, body, userCookie };
}
