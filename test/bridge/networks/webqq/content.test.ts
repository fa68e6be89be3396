import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  contentToText,
  sendContent,
  textToElements,
} from "../../../../bridge/networks/webqq/content.ts";

const FONT = ["font", { color: "000000", name: "微软雅黑", size: 10, style: [0, 0, 0] }];

test("incoming content: font dropped, faces readable, Chinese and markup intact", () => {
  assert.equal(contentToText([FONT, "hi ", ["face", 14], " there"]), "hi /微笑 there");
  assert.equal(contentToText([FONT, "好啊", ["face", 999]]), "好啊[face 999]");
  assert.equal(contentToText([FONT, "<b>&amp;</b> \"'"]), "<b>&amp;</b> \"'");
  assert.equal(contentToText([FONT, ["cface", { name: "x.jpg" }], "!"]), "[image]!");
  assert.throws(() => contentToText("nope"), /not an array/);
});

test("outgoing content is a JSON string with the font element last", () => {
  const parsed = JSON.parse(sendContent("hello /微笑 world"));
  assert.deepEqual(parsed.slice(0, -1), ["hello ", ["face", 14], " world"]);
  assert.equal(parsed.at(-1)[0], "font");
  assert.deepEqual(textToElements("/蛋糕/蛋"), [["face", 38], ["face", 188]]);
  assert.deepEqual(textToElements("[face 999] [face 14]"), [["face", 999], " [face 14]"]);
});

test("text → elements → text is the identity for any text", () => {
  const faceish = fc.constantFrom("/微笑", "/蛋", "/蛋糕", "[face 7]", "[face 300]", "/", "[face ", "<&>", "好");
  const text = fc.array(fc.oneof(fc.string(), faceish)).map((a) => a.join(""));
  fc.assert(
    fc.property(text, (s) => {
      assert.equal(contentToText([FONT, ...textToElements(s)]), s);
      assert.equal(contentToText(JSON.parse(sendContent(s))), s);
    }),
  );
});
