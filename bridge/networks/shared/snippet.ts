// The one excerpt of a peer's body that goes into logs and error messages: single-line and short,
// so a huge or multi-line answer cannot flood a log line.

/** A short, single-line excerpt of `body` (whitespace folded, cut at `max` characters with "…"). */
export function snippet(body: string, max = 120): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
