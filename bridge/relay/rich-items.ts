// What one target gets for a rich message (a reply, an edit, a retraction, media): its outbox
// items. The decision that needs only the target's features is made here, when the message is
// accepted; the one that needs the target-side id of another message (the replied, edited or
// retracted one) is made when the item is sent (rich-send.ts), because the target's queue is in
// order and that message is sent first.
//
//   reply    native where the target has replies (the item names the replied message's source
//            key; `fallback` is what to send if it has no id there); otherwise the quote is in the text
//   edit     an edit item: native where the target edits, a "(correction)" message otherwise; the
//            outbox applies it to the original instead while that is still unsent (`pendingText`)
//   retract  a retract item (a no-op where the target cannot retract); the outbox removes the
//            original instead while that is still unsent
//   media    to the room: a caption message, then one item per file (fetched, uploaded, posted
//            with OOB; `text` is the note sent when that is impossible). Elsewhere a note.
//   file     (a room's OOB URL or file link) to a network that posts media by URL: a media item
//            whose `fallback` is the link; otherwise the link as text
import type { ItemKind, ItemMedia, NewItem } from "../store/outbox.ts";
import type { SourceIds } from "../store/id-map.ts";
import { CORRECTION_MARK, mediaNote } from "./format.ts";
import { splitText } from "./split.ts";

/** What a message is besides its text. Absent fields: a plain message. */
export interface Rich {
  kind?: ItemKind;
  /** edit / retract: the source key of the message edited or retracted (known to the id map). */
  ref?: string;
  /** The source key of the message replied to (known to the id map). */
  replyTo?: string;
  /** With replyTo: the quote of the replied message, for a target that gets no native reply ("> alice: hi"). */
  quote?: string;
  /** With replyTo, from a room: the body with its XEP-0428 quote, for a target without native replies. */
  withFallback?: string;
  /** From a network: its pictures and files (fetched by the room target). */
  media?: ItemMedia[];
  /** From a room: the file the message is (an OOB URL, or a body that is only a file link). */
  file?: ItemMedia & { url: string; desc?: string };
  /** The message's ids where it was said, for the id map. */
  ids?: SourceIds;
}

/** What a target can do natively (a network's `features`; a room can reply and edit, retract and upload where its link can). */
export interface Caps {
  reply?: boolean;
  edit?: boolean;
  retract?: boolean;
  media?: boolean;
}

export interface ItemTarget {
  key: string;
  maxLength: number;
  caps: Caps;
  /** The room (gets uploaded media), not a network group. */
  isRoom: boolean;
}

/**
 * The items one target gets. `line` formats a text with the bridge's template (and the late mark);
 * `text` is what was said (without the reply's quote).
 */
export function richItems(t: ItemTarget, base: { bridge: string; sender: string }, line: (text: string) => string, text: string, rich: Rich): NewItem[] {
  const item = (fields: Omit<NewItem, "bridge" | "target" | "sender">): NewItem => ({ bridge: base.bridge, target: t.key, sender: base.sender, ...fields });
  const parts = (s: string): NewItem[] => splitText(s, t.maxLength).filter((p) => p.trim() !== "").map((p) => item({ text: p }));
  const fits = (s: string) => s.length <= t.maxLength;

  if (rich.kind === "retract" && rich.ref) return [item({ text: "", kind: "retract", ref: rich.ref })];

  if (rich.kind === "edit" && rich.ref) {
    const native = line(text);
    const correction = line(`${CORRECTION_MARK} ${text}`);
    // Longer than one send: a correction in parts (an edit replaces one message's text).
    if (!fits(native) || !fits(correction)) return parts(correction);
    return t.caps.edit
      ? [item({ text: native, kind: "edit", ref: rich.ref, fallback: correction, pendingText: native })]
      : [item({ text: correction, kind: "edit", ref: rich.ref, pendingText: native })];
  }

  if (rich.file && !t.isRoom) {
    const link = line(text.trim() === rich.file.url ? text : [text, rich.file.url].filter((s) => s.trim() !== "").join("\n"));
    const caption = line(rich.file.desc ?? "").trimEnd();
    if (!t.caps.media || !fits(caption)) return parts(link);
    const { desc: _desc, ...media } = rich.file;
    return [item({ text: caption, media, fallback: fits(link) ? link : undefined })];
  }

  const media = rich.media ?? [];
  const upload = media.length > 0 && t.isRoom && t.caps.media === true;
  // A target that cannot get the files themselves gets a note of each (a network URL may carry a
  // token, and a network cannot fetch another's ref).
  const shown = media.length > 0 && !upload ? [text, media.map(mediaNote).join(" ")].filter((s) => s.trim() !== "").join("\n") : text;

  let items: NewItem[];
  if (rich.replyTo) {
    const native = line(shown);
    const alt = rich.withFallback !== undefined ? line(rich.withFallback) : rich.quote ? `${rich.quote}\n${native}` : native;
    if (t.caps.reply) {
      items = parts(native);
      const first = items[0];
      if (first) {
        first.replyTo = rich.replyTo;
        if (items.length === 1 && alt !== native && fits(alt)) first.fallback = alt;
      }
    } else {
      items = parts(alt);
    }
  } else {
    items = shown.trim() === "" ? [] : parts(line(shown));
  }
  if (!upload) return items;
  // Clients show a file inline only when the body is exactly its URL: the sender's name and the
  // caption go in a message of their own, before it.
  if (items.length === 0) items = parts(line(media.map(mediaNote).join(" ")));
  return [...items, ...media.map((m) => item({ text: line(mediaNote(m)), media: m }))];
}
