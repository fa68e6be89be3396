import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { snippet } from "../../../../bridge/networks/shared/snippet.ts";

test("a snippet is one line, whitespace folded, cut at max with an ellipsis", () => {
  assert.equal(snippet("  a\n\tb  c \r\n"), "a b c");
  assert.equal(snippet("x".repeat(130)), `${"x".repeat(120)}…`);
  assert.equal(snippet("abcdef", 3), "abc…");
  fc.assert(
    fc.property(fc.string({ maxLength: 500 }), fc.integer({ min: 1, max: 200 }), (s, max) => {
      const out = snippet(s, max);
      assert.ok(!/[\n\r]/.test(out));
      assert.ok(out.length <= max + 1);
    }),
  );
});
