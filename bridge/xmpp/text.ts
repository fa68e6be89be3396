// Outgoing body text: what XML 1.0 can carry, cut into parts a room accepts.

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
// With the u flag a lone surrogate is one code point in D800–DFFF, so it is stripped too.
const FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Removes every character XML 1.0 forbids (C0 controls, U+FFFE/U+FFFF, lone surrogates). */
export function stripForbiddenXmlChars(text: string): string {
  return text.replace(FORBIDDEN, "");
}

/**
 * Splits text into parts of at most `max` code points (never inside a surrogate pair). A cut
 * prefers the last whitespace in the final quarter of a part; the parts join back to the input.
 */
export function splitBody(text: string, max: number): string[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxBodyLength must be a positive integer, got ${max}`);
  const chars = Array.from(text);
  if (chars.length <= max) return [text];
  const parts: string[] = [];
  let start = 0;
  while (chars.length - start > max) {
    let end = start + max;
    const floor = start + Math.floor((max * 3) / 4);
    for (let i = end; i > floor; i--) {
      if (/\s/u.test(chars[i - 1]!)) {
        end = i;
        break;
      }
    }
    parts.push(chars.slice(start, end).join(""));
    start = end;
  }
  parts.push(chars.slice(start).join(""));
  return parts;
}
