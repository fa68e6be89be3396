// OneBot 11 messages both ways (protocols.md §2.3): the string (CQ code) form and the array form
// parsed into segments, segments rendered as readable text, text sent as a segment array.

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
  /** Image (and other media) URLs. */
  attachments: string[];
  /** The message id a reply segment points at. */
  replyTo?: string;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

const MEDIA_WORDS: Record<string, string> = { image: "image", record: "voice", video: "video", file: "file" };

/** The qq numbers of `at` segments (to look their names up before rendering). */
export function mentionedIds(segs: Segment[]): string[] {
  return segs.filter((s) => s.type === "at" && str(s.data.qq) !== "all" && str(s.data.name) === "").map((s) => str(s.data.qq));
}

/**
 * Segments → readable text: faces "[face 178]", mentions "@name" (or "@all"), media URLs as
 * attachments ("[image]" when the segment has no URL), a reply's target in replyTo.
 */
export function renderSegments(segs: Segment[], nameOf: (qq: string) => string | undefined = () => undefined): Rendered {
  let text = "";
  const attachments: string[] = [];
  let replyTo: string | undefined;
  for (const { type, data } of segs) {
    switch (type) {
      case "text":
        text += str(data.text);
        break;
      case "face":
        text += `[face ${str(data.id)}]`;
        break;
      case "at": {
        const qq = str(data.qq);
        text += qq === "all" ? "@all" : `@${str(data.name) || nameOf(qq) || qq}`;
        break;
      }
      case "reply":
        replyTo = str(data.id);
        break;
      default: {
        const url = [data.url, data.file].map(str).find((u) => /^https?:\/\//i.test(u));
        if (url !== undefined && type in MEDIA_WORDS) attachments.push(url);
        else text += `[${MEDIA_WORDS[type] ?? type}]`;
      }
    }
  }
  return { text, attachments, ...(replyTo === undefined || replyTo === "" ? {} : { replyTo }) };
}

/** What send_group_msg gets: one text segment (arrays need no CQ escaping). */
export function textToSegments(text: string): Segment[] {
  return [{ type: "text", data: { text } }];
}
