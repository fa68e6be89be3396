import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { escapeCqParam, escapeCqText, parseCqString, renderSegments, toSegments } from "../../../../bridge/networks/onebot11/message.ts";
import { verifySignature } from "../../../../bridge/networks/onebot11/webhook.ts";
import { signature } from "../../../sim/onebot11.ts";

test("CQ strings: codes, parameters and escapes (single pass: &amp;#91; stays &#91;)", () => {
  assert.deepEqual(parseCqString("[CQ:face,id=178]看看&#91;1&#93;&amp;#91;[CQ:image,file=a&#44;b.jpg]"), [
    { type: "face", data: { id: "178" } },
    { type: "text", data: { text: "看看[1]&#91;" } },
    { type: "image", data: { file: "a,b.jpg" } },
  ]);
  assert.deepEqual(parseCqString("broken [CQ:face,id=1"), [{ type: "text", data: { text: "broken [CQ:face,id=1" } }]);
  assert.throws(() => toSegments(42), TypeError);
});

test("property: any text survives CQ escaping and parsing; parameter values survive too", () => {
  fc.assert(fc.property(fc.string({ minLength: 1 }), (s) => {
    assert.deepEqual(parseCqString(escapeCqText(s)), [{ type: "text", data: { text: s } }]);
  }));
  fc.assert(fc.property(fc.string(), (v) => {
    assert.deepEqual(parseCqString(`[CQ:image,file=${escapeCqParam(v)}]`)[0]!.data.file, v);
  }));
});

test("rendering: mentions by name or id, @all, media without a URL as a word, unknown segments named", () => {
  const r = renderSegments(toSegments([
    { type: "at", data: { qq: "1" } }, { type: "at", data: { qq: "2" } }, { type: "at", data: { qq: "all" } },
    { type: "image", data: { file: "x.jpg" } }, { type: "record", data: { file: "http://v.example/a.amr" } }, { type: "dice", data: {} },
  ]), (qq) => (qq === "1" ? "one" : undefined));
  assert.deepEqual(r, { text: "@one@2@all[image][dice]", attachments: ["http://v.example/a.amr"], media: [] });
});

test("signatures: sha1=<hex> checked in either case; wrong key, body or shape refused", () => {
  const body = Buffer.from('{"post_type":"message"}');
  assert.ok(verifySignature("k", body, signature("k", body.toString(), "lower")));
  assert.ok(verifySignature("k", body, signature("k", body.toString(), "upper")));
  assert.ok(!verifySignature("other", body, signature("k", body.toString())));
  assert.ok(!verifySignature("k", Buffer.from("{}"), signature("k", body.toString())));
  assert.ok(!verifySignature("k", body, "md5=abc"));
  assert.ok(!verifySignature("k", body, undefined));
});
