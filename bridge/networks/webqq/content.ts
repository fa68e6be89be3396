// Message content both ways: SmartQQ's element arrays ⇄ plain text (protocols.md §1.5, §1.7).
import { FACE_IDS, FACE_NAMES } from "./faces.ts";

export type ContentElement = string | [string, unknown];

/** The font element a send carries last (the web client's default). */
export const SEND_FONT = ["font", { name: "宋体", size: 10, style: [0, 0, 0], color: "000000" }] as const;

/** Longest text of one send_qun_msg2, in UTF-8 bytes (pandolia's Partition limit). */
export const MAX_SEND_BYTES = 720;

export function faceToText(id: number): string {
  const name = FACE_NAMES.get(id);
  return name !== undefined ? `/${name}` : `[face ${id}]`;
}

/**
 * Incoming content → text. Font elements are dropped, faces read "/微笑" (or "[face N]" for ids
 * outside the table), images become "[image]". Throws on a content that is not an array.
 */
export function contentToText(content: unknown): string {
  if (!Array.isArray(content)) throw new TypeError(`content is not an array: ${JSON.stringify(content)?.slice(0, 80)}`);
  let out = "";
  for (const el of content) {
    if (typeof el === "string") out += el;
    else if (Array.isArray(el) && typeof el[0] === "string") {
      const [kind, arg] = el;
      if (kind === "font") continue;
      if (kind === "face" && typeof arg === "number") out += faceToText(arg);
      else if (kind === "cface" || kind === "offpic") out += "[image]";
      else out += `[${kind}]`;
    } else if (typeof el === "number") out += String(el);
  }
  return out;
}

// "/name" (longest name first, so /蛋糕 wins over /蛋) or "[face N]" for ids outside the table.
const FACE_PATTERN = new RegExp(
  `/(${[...FACE_IDS.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|")})|\\[face (\\d{1,6})\\]`,
  "gu",
);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Text → elements (without the font): "/微笑" and "[face N]" become faces, the rest stays text. */
export function textToElements(text: string): ContentElement[] {
  const out: ContentElement[] = [];
  let last = 0;
  for (const m of text.matchAll(FACE_PATTERN)) {
    let id: number | undefined;
    if (m[1] !== undefined) id = FACE_IDS.get(m[1]);
    else if (!FACE_NAMES.has(Number(m[2]))) id = Number(m[2]); // a named id always reads "/name"
    if (id === undefined) continue;
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(["face", id]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** The `content` field of send_qun_msg2: a JSON string of the elements with the font last. */
export function sendContent(text: string): string {
  return JSON.stringify([...textToElements(text), SEND_FONT]);
}
