// "@Name" in a text sent to a network: where Name is exactly one group member's display name, it
// becomes that network's mention (OneBot `at` / `mention`). Pure; both OneBot networks use it.

export interface MentionMember {
  id: string;
  name: string;
}

/** A run of text, or a mention of member `id` (its "@Name" text taken out). */
export type TextPart = { text: string } | { mention: string };

/** What may follow a name: the end, whitespace or punctuation (so "@Al" never mentions "Alice"'s prefix). */
const NAME_END = /^(?:$|[\s\p{P}])/u;

/**
 * Splits `text` at each "@Name" (at the start or after whitespace) whose Name is a member's display
 * name, the longest that fits. A name two members share is ambiguous and stays text.
 */
export function splitMentions(text: string, members: readonly MentionMember[]): TextPart[] {
  const byName = new Map<string, string | null>();
  for (const m of members) {
    if (m.name.trim() === "") continue;
    const seen = byName.get(m.name);
    byName.set(m.name, seen === undefined || seen === m.id ? m.id : null); // null: ambiguous
  }
  const names = [...byName.keys()].sort((a, b) => b.length - a.length);
  const parts: TextPart[] = [];
  let run = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "@" && (i === 0 || /\s/.test(text[i - 1]!)) && names.length > 0) {
      const rest = text.slice(i + 1);
      const name = names.find((n) => rest.startsWith(n) && NAME_END.test(rest.slice(n.length)) && byName.get(n) !== null);
      if (name !== undefined) {
        if (run !== "") parts.push({ text: run });
        run = "";
        parts.push({ mention: byName.get(name)! });
        i += 1 + name.length;
        continue;
      }
    }
    run += ch;
    i++;
  }
  if (run !== "") parts.push({ text: run });
  return parts;
}
