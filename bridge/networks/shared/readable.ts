// A message with nothing readable in it (empty, whitespace, control or format characters only)
// is relayed as a placeholder, never as a bare "<Alice> " line (issue 9).

/** Whitespace, controls, lone surrogates, format characters (ZWJ, direction marks) and U+FFFE/U+FFFF. */
const NOTHING_READABLE = /^[\s\p{Cc}\p{Cs}\p{Cf}\uFFFE\uFFFF]*$/u;

export const UNSUPPORTED_MESSAGE = "[unsupported message]";

/** `text`, or the placeholder when it has nothing a reader could see. */
export function readableText(text: string): string {
  return NOTHING_READABLE.test(text) ? UNSUPPORTED_MESSAGE : text;
}
