import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitText } from "../../../bridge/relay/split.ts";

test("short text is one part", () => {
  assert.deepEqual(splitText("hello", 10), ["hello"]);
  assert.deepEqual(splitText("", 10), [""]);
});

test("prefers a line break, then a space", () => {
  assert.deepEqual(splitText("aaaa bbbb\ncccc dddd", 12), ["aaaa bbbb\n", "cccc dddd"]);
  assert.deepEqual(splitText("aaaa bbbb cccc", 10), ["aaaa bbbb ", "cccc"]);
});

test("cuts hard when there is no break point, never inside a surrogate pair", () => {
  assert.deepEqual(splitText("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  assert.deepEqual(splitText("ab😀cd", 3), ["ab", "😀c", "d"]);
});

test("rejects a limit that cannot make progress", () => {
  assert.throws(() => splitText("abc", 1), RangeError);
});

test("parts fit the limit, are non-empty, keep surrogate pairs and rebuild the text", () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom("a", " ", "\n", "😀", "é", "x"), maxLength: 300 }), fc.integer({ min: 2, max: 40 }), (text, limit) => {
      const parts = splitText(text, limit);
      assert.equal(parts.join(""), text);
      for (const p of parts) {
        assert.ok(p.length <= limit);
        if (text !== "") assert.ok(p.length > 0);
        assert.ok(!/^[\udc00-\udfff]/.test(p) && !/[\ud800-\udbff]$/.test(p), "no split surrogate pair");
      }
    }),
  );
});
