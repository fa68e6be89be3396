// Reading undici's dispatch options and response headers, the same way in every interceptor:
// request headers as undici accepts them (a record, a flat [name, value, ...] list, or pairs),
// read and rewritten as a record with lowercase names; the origin as a string.
import type { Dispatcher } from "undici";

export type HeaderRecord = Record<string, string>;

/** The headers as a record with lowercase names; a record is lowercased only when it needs to be. */
export function headerRecord(headers: Dispatcher.DispatchOptions["headers"]): HeaderRecord {
  if (headers === undefined || headers === null) return {};
  const out: HeaderRecord = {};
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const [name, value] of headers as unknown as [string, string][]) out[name.toLowerCase()] = String(value);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) out[String(headers[i]).toLowerCase()] = String(headers[i + 1]);
    }
    return out;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === "function" && !(headers.constructor === Object)) {
    for (const [name, value] of headers as Iterable<[string, string]>) out[name.toLowerCase()] = String(value);
    return out;
  }
  const record = headers as Record<string, unknown>;
  for (const name in record) {
    const value = record[name];
    if (value !== undefined && value !== null) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

/** One response header's first value. */
export function responseHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The origin of dispatch options as "http://host:port" (a URL's origin; a string without its trailing "/"). */
export function originOf(origin: Dispatcher.DispatchOptions["origin"]): string {
  if (origin === undefined) return "";
  if (typeof origin !== "string") return origin.origin;
  return origin.charCodeAt(origin.length - 1) === 47 /* "/" */ ? origin.slice(0, -1) : origin;
}
