// The download of a picture or file for fetchMedia(), the same for every network: bounded by the
// caller's limit (a larger body stops at the cap), and failing with a SendError whose message
// names only the kind of failure, never the URL (some networks' file URLs carry a token or a
// download key).
import { BodyTooLargeError, HTTPStatusError, type HTTPStream } from "../../../src/index.ts";
import { SendError } from "../../network.ts";

export interface MediaDownload {
  url: string;
  /** Strings the stream redacts from anything it logs (a token in the URL). */
  secrets?: string[];
  maxBytes: number;
  /** How the file is named in errors ("network: file \"a.png\""). */
  label: string;
  /** What a 4xx answer means: "retry" where a fresh URL can be had later, "fatal" where the URL was the only one. */
  on4xx: "retry" | "fatal";
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The error for a file over the limit. */
export function tooBigError(label: string, size: number | undefined, limit: number): SendError {
  return new SendError(`${label}${size === undefined ? "" : ` of ${size} bytes`} is over the limit of ${limit} bytes`, "fatal");
}

/** What went wrong, without the URL a transport or status error's message carries. */
export function failureKind(err: unknown): string {
  if (err instanceof HTTPStatusError) return `HTTP ${err.status}`;
  const e = err as { code?: unknown; name?: unknown };
  if (typeof e?.code === "string") return e.code;
  return typeof e?.name === "string" ? e.name : "error";
}

/** The bytes and the Content-Type (lower case, without parameters) of a 200 answer. */
export async function downloadMedia(stream: HTTPStream, d: MediaDownload): Promise<{ data: Uint8Array; type: string | undefined }> {
  let status: number;
  try {
    const res = await stream.request({ url: d.url, secrets: d.secrets ?? [], maxBodySize: d.maxBytes, timeout: d.timeoutMs ?? 120_000, name: "media download" }, { signal: d.signal });
    status = res.status;
    if (status === 200) {
      const ct = res.headers["content-type"];
      const type = typeof ct === "string" ? ct.split(";")[0]!.trim().toLowerCase() : undefined;
      return { data: await res.bytes(), type };
    }
    res.body.resume();
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw tooBigError(d.label, err.declared, d.maxBytes);
    // A download is a GET: whatever failed in transport, a later try is safe.
    throw new SendError(`download of ${d.label} failed (${failureKind(err)})`, "retry");
  }
  const kind = status >= 400 && status < 500 && status !== 429 && status !== 408 ? d.on4xx : "retry";
  throw new SendError(`download of ${d.label} answered HTTP ${status}`, kind);
}
