import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitMentions } from "../../../../bridge/networks/shared/mentions.ts";

const members = [
  { id: "1", name: "Alice" },
  { id: "2", name: "Alice B" },
  { id: "3", name: "Bob" },
  { id: "4", name: "Bob" }, // a name two members share: ambiguous
  { id: "5", name: "李雷" },
];

test("splitMentions: exact display names at the start or after a space, the longest that fits; prefixes, mid-word @ and shared names stay text", () => {
  assert.deepEqual(splitMentions("@Alice B: hi @Alice, @李雷!", members), [
    { mention: "2" }, { text: ": hi " }, { mention: "1" }, { text: ", " }, { mention: "5" }, { text: "!" },
  ]);
  assert.deepEqual(splitMentions("@Alicia a@Alice @Bob", members), [{ text: "@Alicia a@Alice @Bob" }]);
  assert.deepEqual(splitMentions("no one", []), [{ text: "no one" }]);
});

test("splitMentions: the parts read back as the text (a mention as @ + its member's name)", () => {
  const names = new Map(members.map((m) => [m.id, m.name]));
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom("@Alice", "@Alice B", "@Bob", "@李雷", " ", "@")), { maxLength: 8 }), (chunks) => {
      const text = chunks.join("");
      const back = splitMentions(text, members).map((p) => ("mention" in p ? `@${names.get(p.mention)}` : p.text)).join("");
      assert.equal(back, text);
    }),
  );
});
