// WebQQ has none of the rich message kinds natively: its features say so (the relay quotes
// replies and marks corrections as text), and its pictures, which download only with the
// session's cookies, stay "[image]" in the text: no media ref that would need a secret.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertCleanRun, harness } from "./harness.ts";

test("features: nothing native; no edit, retract or fetchMedia; faces read as names and pictures as [image], without media", async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  assert.deepEqual(adapter.features, { reply: false, edit: false, retract: false, media: false, mention: false });
  assert.equal(adapter.edit, undefined);
  assert.equal(adapter.retract, undefined);
  assert.equal(adapter.fetchMedia, undefined);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: ["look ", ["face", 14], ["cface", { name: "{AB12}.jpg", key: "k", file_id: 9, server: "1.2.3.4:80" }], ["offpic", { file_path: "/x" }]] });
  const [m] = await inbox.waitFor(1);
  assert.equal(m!.text, "look /微笑[image][image]");
  assert.equal(m!.media, undefined);
  assert.equal(m!.replyTo, undefined);
  assert.equal(m!.kind, undefined);
  // A send with options the features do not claim is plain text (the relay never asks, but nothing breaks).
  await adapter.send("Dev Group", "plain", { replyTo: "x", media: { kind: "image", url: "https://example/x.png" } });
  assertCleanRun(h);
});
