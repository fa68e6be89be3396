import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { splitBody, stripForbiddenXmlChars } from "../../../bridge/xmpp/text.ts";

const XML_CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

test("stripping leaves only XML 1.0 characters and keeps every allowed one", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (s) => {
      const out = stripForbiddenXmlChars(s);
      assert.match(out, XML_CHAR);
      assert.equal(out, Array.from(s).filter((c) => XML_CHAR.test(c)).join(""));
    }),
  );
});

test("control characters, U+FFFE/U+FFFF and lone surrogates are removed; tab, newline, emoji stay", () => {
  assert.equal(stripForbiddenXmlChars("a\u0000b\u0007c\u001b[0m\uFFFEd\uFFFF\uD800e\tf\ng\r😀"), "abc[0mde\tf\ng\r😀");
});

test("parts join back to the text, each within the limit, never splitting a surrogate pair", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (s, max) => {
      const parts = splitBody(s, max);
      assert.equal(parts.join(""), s);
      for (const p of parts) {
        assert.ok(Array.from(p).length <= max);
        assert.ok(p.length > 0 || s === "");
        assert.doesNotMatch(p, /^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
      }
    }),
  );
});

test("a 20,000-character text splits in two at the default-sized limit, at a space when one is near", () => {
  const text = "word ".repeat(4000);
  const parts = splitBody(text, 10_000);
  assert.equal(parts.length, 2);
  assert.ok(parts[0]!.endsWith(" "));
  assert.equal(splitBody("x".repeat(20_000), 10_000).map((p) => p.length).join(), "10000,10000");
});

test("a limit that is not a positive integer is a clear error", () => {
  assert.throws(() => splitBody("abc", 0), /maxBodyLength must be a positive integer/);
  assert.throws(() => splitBody("abc", 2.5), /maxBodyLength/);
});
