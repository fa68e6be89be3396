// OneBot 11 messages both ways (protocols.md §2.3): the string (CQ code) form and the array form
// parsed into segments, segments rendered as readable text, text sent as a segment array.
import type { MediaRef } from "../../network.ts";

export interface Segment {
  type: string;
  data: Record<string, unknown>;
}

/** Text outside CQ codes: `&`, `[`, `]` are escaped. */
export function escapeCqText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/\[/g, "&#91;").replace(/\]/g, "&#93;");
}

/** Values inside a CQ code: `,` is escaped as well. */
export function escapeCqParam(s: string): string {
  return escapeCqText(s).replace(/,/g, "&#44;");
}

/** One pass, so "&amp;#91;" stays "&#91;" (go-cqhttp unescapes &amp; last for the same reason). */
export function unescapeCq(s: string): string {
  return s.replace(/&(amp|#91|#93|#44);/g, (_, e: string) => (e === "amp" ? "&" : e === "#91" ? "[" : e === "#93" ? "]" : ","));
}

/**
 * The string form → segments: the function name runs to the first `,` or `]`, parameters split on
 * `,`, each at its first `=`. An unterminated `[CQ:` stays text: nothing of the message is lost.
 */
export function parseCqString(s: string): Segment[] {
  const out: Segment[] = [];
  const text = (t: string): void => {
    if (t === "") return;
    const last = out.at(-1);
    if (last?.type === "text") last.data.text = String(last.data.text) + unescapeCq(t);
    else out.push({ type: "text", data: { text: unescapeCq(t) } });
  };
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf("[CQ:", i);
    const close = open < 0 ? -1 : s.indexOf("]", open);
    if (open < 0 || close < 0) {
      text(s.slice(i));
      break;
    }
    text(s.slice(i, open));
    const [type, ...params] = s.slice(open + 4, close).split(",");
    const data: Record<string, unknown> = {};
    for (const p of params) {
      const eq = p.indexOf("=");
      if (eq > 0) data[p.slice(0, eq)] = unescapeCq(p.slice(eq + 1));
      else if (p !== "") data[p] = "";
    }
    out.push({ type: type!, data });
    i = close + 1;
  }
  return out;
}

/** An event's `message` (either form) → segments; throws TypeError on anything else. */
export function toSegments(message: unknown): Segment[] {
  if (typeof message === "string") return parseCqString(message);
  if (!Array.isArray(message)) throw new TypeError(`message is neither a string nor a segment array: ${String(JSON.stringify(message)).slice(0, 80)}`);
  return message.map((seg, i) => {
    const { type, data } = (seg ?? {}) as { type?: unknown; data?: unknown };
    if (typeof type !== "string") throw new TypeError(`segment ${i} has no type`);
    return { type, data: typeof data === "object" && data !== null ? (data as Record<string, unknown>) : {} };
  });
}

export interface Rendered {
  text: string;
  /** Links to media the bridge does not fetch (voice, video). */
  attachments: string[];
  /** The message id a reply segment points at. */
  replyTo?: string;
  /** Pictures and files with a URL (MediaRef: ref is the URL). */
  media: MediaRef[];
  /** An `at` of our own account was in it (taken out of the text). */
  mentionsSelf?: boolean;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

const MEDIA_WORDS: Record<string, string> = { image: "image", record: "voice", video: "video", file: "file" };

/** The qq numbers of `at` segments (to look their names up before rendering). */
export function mentionedIds(segs: Segment[]): string[] {
  return segs.filter((s) => s.type === "at" && str(s.data.qq) !== "all" && str(s.data.name) === "").map((s) => str(s.data.qq));
}

function httpUrl(...vs: unknown[]): string | undefined {
  return vs.map(str).find((u) => /^https?:\/\//i.test(u));
}

/** A size as implementations give it (NapCat: a string "12345", go-cqhttp: a number). */
function size(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,15}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

const GROUP_FILE = "group_file:";

/**
 * A MediaRef ref for a group file that came without a URL: resolved by get_group_file_url when it
 * is fetched (go-cqhttp, NapCat, LLBot, Lagrange serve it). `busid` may be "".
 */
export function groupFileRef(group: string, busid: string, fileId: string): string {
  return `${GROUP_FILE}${group}:${busid}:${encodeURIComponent(fileId)}`;
}

/** The parts of a groupFileRef; undefined for any other ref. */
export function parseGroupFileRef(ref: string): { group: string; busid: string; fileId: string } | undefined {
  const m = /^group_file:(\d+):([^:]*):(.+)$/.exec(ref);
  if (!m) return undefined;
  try {
    return { group: m[1]!, busid: m[2]!, fileId: decodeURIComponent(m[3]!) };
  } catch {
    return undefined;
  }
}

/**
 * An `image` / `file` segment's picture or file: its URL (the implementations put no account
 * token in it; NapCat's carry an expiring rkey download key, kept but logged only redacted),
 * name, size. A file without a URL but with a file_id (NapCat) is a groupFileRef when the group is known.
 */
function mediaOf(kind: "image" | "file", data: Record<string, unknown>, group?: string): MediaRef | undefined {
  const url = httpUrl(data.url, data.file);
  const fileId = str(data.file_id);
  const ref = url ?? (kind === "file" && fileId !== "" && group !== undefined ? groupFileRef(group, str(data.busid), fileId) : undefined);
  if (ref === undefined) return undefined;
  const named = [data.name, data.file_name, data.filename, data.file].map(str).find((n) => n !== "" && !/^https?:\/\//i.test(n));
  const bytes = size(data.file_size) ?? size(data.size);
  return { kind, ref, ...(named === undefined ? {} : { name: named }), ...(bytes === undefined ? {} : { size: bytes }) };
}

/**
 * Segments → readable text: faces "[face 178]", mentions "@name" (or "@all"), an @ of our own
 * account (`selfId`) taken out and flagged, pictures and files with a URL as media ("[image]"
 * when the segment has none), voice and video URLs as attachments, a reply's target in replyTo.
 */
export function renderSegments(segs: Segment[], nameOf: (qq: string) => string | undefined = () => undefined, selfId?: string, group?: string): Rendered {
  let text = "";
  const attachments: string[] = [];
  const media: MediaRef[] = [];
  let replyTo: string | undefined;
  let mentionsSelf = false;
  let trimNext = false; // the space QQ puts after an @ that was taken out
  for (const { type, data } of segs) {
    const afterSelf = trimNext;
    trimNext = false;
    switch (type) {
      case "text":
        text += afterSelf && text.trim() === "" ? str(data.text).replace(/^ /, "") : str(data.text);
        break;
      case "face":
        text += `[face ${str(data.id)}]`;
        break;
      case "at": {
        const qq = str(data.qq);
        if (selfId !== undefined && qq === selfId) {
          mentionsSelf = true;
          trimNext = true;
          break;
        }
        text += qq === "all" ? "@all" : `@${str(data.name) || nameOf(qq) || qq}`;
        break;
      }
      case "reply":
        // Only the id: go-cqhttp's custom reply (text, qq, time) is not the message.
        replyTo = str(data.id);
        break;
      case "image":
      case "file": {
        const m = mediaOf(type, data, group);
        if (m !== undefined) media.push(m);
        else text += type === "file" && str(data.name) !== "" ? `[file ${str(data.name)}]` : `[${type}]`;
        break;
      }
      default: {
        const url = httpUrl(data.url, data.file);
        if (url !== undefined && type in MEDIA_WORDS) attachments.push(url);
        else text += `[${MEDIA_WORDS[type] ?? type}]`;
      }
    }
  }
  if (mentionsSelf && text.trim() === "" && media.length === 0 && attachments.length === 0) text = "";
  return { text, attachments, media, ...(replyTo === undefined || replyTo === "" ? {} : { replyTo }), ...(mentionsSelf ? { mentionsSelf } : {}) };
}

/** What send_group_msg gets: one text segment (arrays need no CQ escaping). */
export function textToSegments(text: string): Segment[] {
  return [{ type: "text", data: { text } }];
}
