// Downloads a picture or file a network handed us by URL, through the network's HTTPStream: the
// cap is enforced while the bytes arrive (src body limit: BodyTooLargeError, code
// ERR_BODY_TOO_LARGE), and the URL is logged only redacted (some carry download keys).
import { BodyTooLargeError, redactUrl, type HTTPStream } from "../../../src/index.ts";
import { SendError } from "../../network.ts";

export interface FetchedMedia {
  data: Uint8Array;
  mime: string;
  name: string;
}

/** A download that did not give the file (a status other than 200). */
export class MediaFetchError extends Error {
  readonly status: number;
  constructor(status: number, url: string) {
    super(`media download failed: HTTP ${status} from ${redactUrl(url)}`);
    this.name = "MediaFetchError";
    this.status = status;
  }
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

export interface FetchOptions {
  /** The name the network gave the file (wins over the URL's). */
  name?: string;
  /** The type the network gave, when the server does not say. */
  mime?: string;
  /** Used when nothing names the file ("image", "file"). */
  fallbackName: string;
  signal?: AbortSignal;
  /** Headers the download needs (OneBot 12 get_file may name some). */
  headers?: Record<string, string>;
  /** Strings never to log (the network's token). */
  secrets?: string[];
}

/**
 * GET `url` with a body cap of `maxBytes`. Throws BodyTooLargeError above the cap and
 * MediaFetchError for a status that says the file is not there (the relay posts a note); a
 * SendError "retry" when it may work later (no answer, 429, 5xx), so the relay tries again.
 */
export async function fetchMediaUrl(stream: HTTPStream, url: string, maxBytes: number, o: FetchOptions): Promise<FetchedMedia> {
  if (!/^https?:\/\//i.test(url)) throw new Error(`media reference is not an http(s) URL: ${redactUrl(url)}`);
  let data: Uint8Array;
  let res;
  try {
    res = await stream.request(
      { method: "GET", url, maxBodySize: maxBytes, name: "media download", ...(o.headers ? { headers: o.headers } : {}), ...(o.secrets ? { secrets: o.secrets } : {}), retry: { statuses: [] } },
      { signal: o.signal },
    );
    if (res.status !== 200) {
      res.body.resume();
      const err = new MediaFetchError(res.status, url);
      if (res.status === 429 || res.status >= 500) throw new SendError(err.message, "retry", { cause: err, retryAfterMs: 30_000 });
      throw err;
    }
    data = await res.bytes();
  } catch (err) {
    if (err instanceof BodyTooLargeError || err instanceof MediaFetchError || err instanceof SendError || o.signal?.aborted) throw err;
    // No answer (refused, reset, timed out): the file may still be there later.
    throw new SendError(`media download failed: ${redactUrl(url)}: no answer`, "retry", { cause: err, retryAfterMs: 30_000 });
  }
  const type = typeof res.headers["content-type"] === "string" ? res.headers["content-type"].split(";")[0]!.trim().toLowerCase() : "";
  const mime = type !== "" && type !== "application/octet-stream" ? type : (o.mime ?? (type || "application/octet-stream"));
  return { data, mime, name: o.name ?? dispositionName(res.headers["content-disposition"]) ?? pathName(url) ?? o.fallbackName };
}
