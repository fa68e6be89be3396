import { test } from "node:test";
import assert from "node:assert/strict";
import { readableText, UNSUPPORTED_MESSAGE } from "../../../../bridge/networks/shared/readable.ts";

test("a message with nothing readable becomes the placeholder; anything readable is kept as is", () => {
  for (const t of ["", " ", "\n\t", "\u0000\u0007", "\u200d\u202e", "\ud800", "\ufffe"]) assert.equal(readableText(t), UNSUPPORTED_MESSAGE, JSON.stringify(t));
  for (const t of ["a", " x ", "😀", "你好", "[image]", "\u0000a"]) assert.equal(readableText(t), t);
});
