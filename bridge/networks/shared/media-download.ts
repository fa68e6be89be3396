// The download of a picture or file for fetchMedia(), the same for every network: through the
// network's HTTPStream, bounded by the caller's limit (a larger body stops at the cap), and failing
// with a MediaDownloadError (a SendError) whose message names only the file and the kind of
// failure, never the URL (some networks' file URLs carry a token or a download key).
//
// The kinds follow what the relay does with a fetchMedia error: "retry" is tried again later
// (no answer, 408, 429, 5xx, the network stopping; a 4xx where the network gives a fresh URL on
// the next try), "fatal" is posted as a note (over the limit, a 4xx that will not change, an
// answer that is not the file, no http(s) URL).
import { BodyTooLargeError, HTTPStatusError, type HTTPStream } from "../../../src/index.ts";
import { SendError, type MediaRef } from "../../network.ts";

/** Why a download gave no file. */
export type MediaFailure = "too-big" | "refused" | "no-answer" | "no-url";

/** A download that gave no file. `status` is the HTTP status that refused it, when one did. */
export class MediaDownloadError extends SendError {
  readonly reason: MediaFailure;
  readonly status: number | undefined;
  constructor(message: string, kind: "retry" | "fatal", reason: MediaFailure, status?: number) {
    super(message, kind);
    this.name = "MediaDownloadError";
    this.reason = reason;
    this.status = status;
  }
}

export interface MediaDownload {
  url: string;
  /** Strings the stream redacts from anything it logs (a token in the URL, header values). */
  secrets?: string[];
  /** Headers the download needs (OneBot 12 get_file may name some). */
  headers?: Record<string, string>;
  maxBytes: number;
  /** How the file is named in errors ("telegram: file \"a.png\""). */
  label: string;
  /** What a 4xx answer means: "retry" where a fresh URL can be had later, "fatal" where the URL was the only one. */
  on4xx: "retry" | "fatal";
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface DownloadedMedia {
  data: Uint8Array;
  /** The Content-Type, lower case, without parameters. */
  type: string | undefined;
  /** The file name the answer's Content-Disposition or the URL's last path segment gives. */
  fileName: string | undefined;
}

/** The error for a file over the limit (a note: it will not shrink). */
export function tooBigError(label: string, size: number | undefined, limit: number): MediaDownloadError {
  return new MediaDownloadError(`${label}${size === undefined ? "" : ` of ${size} bytes`} is over the limit of ${limit} bytes`, "fatal", "too-big");
}

/** What went wrong, without the URL a transport or status error's message carries. */
function failureKind(err: unknown): string {
  if (err instanceof HTTPStatusError) return `HTTP ${err.status}`;
  const e = err as { code?: unknown; name?: unknown };
  if (typeof e?.code === "string") return e.code;
  return typeof e?.name === "string" ? e.name : "error";
}

/** The filename of a Content-Disposition header, if it names one. */
function dispositionName(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const star = /filename\*\s*=\s*[^']*'[^']*'([^;]+)/i.exec(v);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {
      // fall through to the plain form
    }
  }
  return /filename\s*=\s*"?([^";]+)"?/i.exec(v)?.[1]?.trim();
}

/** The last path segment of a URL when it looks like a file name. */
function pathName(url: string): string | undefined {
  try {
    const last = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
    return /\.[a-z0-9]{2,5}$/i.test(last) ? last : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The type to pass on: the network's own word first, then the server's (unless it is the
 * meaningless application/octet-stream), then a guess from the name, then octet-stream.
 */
export function mediaMime(given: string | undefined, served: string | undefined, guess?: string): string {
  return given ?? (served !== undefined && served !== "" && served !== "application/octet-stream" ? served : undefined) ?? guess ?? "application/octet-stream";
}

/** GET `d.url`; the bytes of a 200 answer, else a MediaDownloadError (see the top of the file). */
export async function downloadMedia(stream: HTTPStream, d: MediaDownload): Promise<DownloadedMedia> {
  if (!/^https?:\/\//i.test(d.url)) throw new MediaDownloadError(`${d.label} has no download URL`, "fatal", "no-url");
  let status: number;
  try {
    const res = await stream.request(
      { url: d.url, secrets: d.secrets ?? [], maxBodySize: d.maxBytes, timeout: d.timeoutMs ?? 120_000, name: "media download", ...(d.headers ? { headers: d.headers } : {}) },
      { signal: d.signal },
    );
    status = res.status;
    if (status === 200) {
      const ct = res.headers["content-type"];
      const type = typeof ct === "string" ? ct.split(";")[0]!.trim().toLowerCase() : undefined;
      const fileName = dispositionName(res.headers["content-disposition"]) ?? pathName(d.url);
      return { data: await res.bytes(), type, fileName };
    }
    res.body.resume();
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw tooBigError(d.label, err.declared, d.maxBytes);
    // A download is a GET: whatever failed in transport (or the network stopping), a later try is safe.
    throw new MediaDownloadError(`download of ${d.label} failed (${failureKind(err)})`, "retry", "no-answer");
  }
  const later = status === 408 || status === 429 || status >= 500;
  const kind = later ? "retry" : status >= 400 && status < 500 ? d.on4xx : "fatal";
  throw new MediaDownloadError(`download of ${d.label} answered HTTP ${status}`, kind, "refused", status);
}

/** What fetchMedia() gives. */
export interface FetchedMedia {
  data: Uint8Array;
  mime: string;
  name: string;
}

export interface MediaRefDownload {
  /** The network's type, for errors ("onebot11"). */
  network: string;
  /** Where the bytes are, when not at `media.ref` (a URL the network just gave for the ref). */
  url?: string;
  /** The name the network gave when it resolved the ref (wins over the ref's own). */
  name?: string;
  on4xx: "retry" | "fatal";
  headers?: Record<string, string>;
  secrets?: string[];
  signal?: AbortSignal;
}

/**
 * fetchMedia() of a network whose ref is (or resolves to) a download URL: the size the network
 * declared is checked first, then the download; named by the network, else by the answer, else
 * by its kind.
 */
export async function fetchMediaRef(stream: HTTPStream, media: MediaRef, maxBytes: number, o: MediaRefDownload): Promise<FetchedMedia> {
  const name = o.name ?? media.name;
  const label = `${o.network}: ${media.kind}${name === undefined ? "" : ` "${name}"`}`;
  if (media.size !== undefined && media.size > maxBytes) throw tooBigError(label, media.size, maxBytes);
  const got = await downloadMedia(stream, {
    url: o.url ?? media.ref,
    maxBytes,
    label,
    on4xx: o.on4xx,
    ...(o.headers ? { headers: o.headers } : {}),
    ...(o.secrets ? { secrets: o.secrets } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  return { data: got.data, mime: mediaMime(media.mime, got.type), name: name ?? got.fileName ?? media.kind };
}
