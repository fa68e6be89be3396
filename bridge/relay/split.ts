// Splits a long message into parts no longer than a target accepts. Prefers a line break, then a
// space, in the second half of the window; never cuts a surrogate pair. Concatenating the parts
// gives back the text exactly.

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

export function splitText(text: string, limit: number): string[] {
  if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`split limit must be an integer >= 2, got ${limit}`);
  const parts: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf("\n", limit - 1) + 1;
    if (cut <= limit / 2) cut = rest.lastIndexOf(" ", limit - 1) + 1;
    if (cut <= limit / 2) cut = isHighSurrogate(rest.charCodeAt(limit - 1)) ? limit - 1 : limit;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest !== "" || parts.length === 0) parts.push(rest);
  return parts;
}
