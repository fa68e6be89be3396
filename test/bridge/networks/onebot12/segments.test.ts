import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { renderMessage, textToSegments } from "../../../../bridge/networks/onebot12/segments.ts";

const none = { userName: async () => undefined, fileUrl: async () => undefined };

test("segments render readably; pictures are media by file_id; other media without a URL stay as [label]; lookups that throw fall back to ids", async () => {
  const r = await renderMessage(
    [
      { type: "text", data: { text: "hi " } },
      { type: "mention", data: { user_id: "42" } },
      { type: "voice", data: { file_id: "v" } },
      { type: "image", data: { file_id: "i", url: "http://img/1.png" } },
      { type: "location", data: { latitude: 1, longitude: 2, title: "Home" } },
      { type: "qq.face", data: {} },
    ],
    "",
    { userName: async () => { throw new Error("down"); }, fileUrl: async () => undefined },
  );
  assert.equal(r.text, "hi @42[voice][location: Home][qq.face]");
  assert.deepEqual(r.attachments, []);
  assert.deepEqual(r.media, [{ kind: "image", ref: "file_id:i" }]);
});

test("not a segment array: alt_message, else an error (the caller keeps the raw message)", async () => {
  assert.equal((await renderMessage("plain", "alt", none)).text, "alt");
  await assert.rejects(renderMessage({ nope: 1 }, undefined, none));
});

test("any text sent is one text segment that renders back to itself", async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: "grapheme" }), async (text) => {
      const r = await renderMessage(textToSegments(text), undefined, none);
      assert.equal(r.text, text);
    }),
  );
});
