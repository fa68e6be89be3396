// The id map and the outbox's rich items (edits, retractions, replies, media) over a real SQLite file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { excerptOf } from "../../../bridge/store/id-map.ts";
import { Outbox } from "../../../bridge/store/outbox.ts";

function tempDb(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "pb-idmap-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "outbox.sqlite");
}

const ROOM = "xmpp:r@c";
const TG = "net:tg:G";
const QQ = "net:qq:Dev";

test("ids of a message on every side: its source's at accept, each copy's at delivery, looked up both ways", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [toRoom, toTg] = ob.accept({
    sourceKey: "net:qq:Dev:7",
    items: [{ bridge: "r@c", target: ROOM, text: "<alice> hi" }, { bridge: "r@c", target: TG, text: "<alice> hi" }],
    ids: { side: QQ, id: "Dev:7", author: "alice", excerpt: "hi" },
  })!;
  assert.equal(ob.ids.sourceOf(QQ, { id: "Dev:7" }), "net:qq:Dev:7");
  assert.equal(ob.ids.on("net:qq:Dev:7", ROOM), undefined, "not delivered yet");
  // The room confirms by reflection, with the stanza-id it gave; the network by its answer.
  ob.markAttempt(toRoom!.id);
  assert.ok(ob.confirm({ originId: toRoom!.originId, resultId: "sid-1" }));
  ob.markDelivered(toTg!.id, "G:99");
  assert.deepEqual(
    [ob.ids.on("net:qq:Dev:7", ROOM)?.id, ob.ids.on("net:qq:Dev:7", ROOM)?.originId, ob.ids.on("net:qq:Dev:7", TG)?.id],
    ["sid-1", toRoom!.originId, "G:99"],
  );
  assert.equal(ob.ids.sourceOf(ROOM, { id: "sid-1" }), "net:qq:Dev:7");
  assert.equal(ob.ids.sourceOf(ROOM, { originId: toRoom!.originId }), "net:qq:Dev:7");
  assert.equal(ob.ids.sourceOf(TG, { id: "G:99" }), "net:qq:Dev:7");
  assert.equal(ob.ids.sourceOf(TG, { id: "G:98" }), undefined);
  assert.deepEqual([ob.ids.origin("net:qq:Dev:7")?.side, ob.ids.origin("net:qq:Dev:7")?.author], [QQ, "alice"]);
});

test("a room message is found by its stanza-id, origin-id or id attribute (the latter only from its author)", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  ob.accept({
    sourceKey: "xmpp:r@c:sid:s1",
    items: [{ bridge: "r@c", target: TG, text: "<carol> yo" }],
    ids: { side: ROOM, id: "s1", originId: "o1", msgId: "m1", author: "carol", excerpt: "yo" },
  });
  assert.equal(ob.ids.sourceOf(ROOM, { id: "s1" }), "xmpp:r@c:sid:s1");
  assert.equal(ob.ids.sourceOf(ROOM, { originId: "o1" }), "xmpp:r@c:sid:s1");
  assert.equal(ob.ids.sourceOf(ROOM, { msgId: "m1", author: "carol" }), "xmpp:r@c:sid:s1");
  assert.equal(ob.ids.sourceOf(ROOM, { msgId: "m1", author: "mallory" }), undefined, "another occupant cannot correct carol's message");
});

test("the id map survives a restart and is pruned by age, separately from delivered items", (t) => {
  const path = tempDb(t);
  const a = new Outbox(path);
  a.accept({ sourceKey: "net:qq:1", items: [], ids: { side: QQ, id: "Dev:1", author: "a", excerpt: "x" } }, 1000);
  a.accept({ sourceKey: "net:qq:2", items: [], ids: { side: QQ, id: "Dev:2", author: "a", excerpt: "y" } }, 5000);
  a.close();
  const b = new Outbox(path);
  t.after(() => b.close());
  assert.equal(b.ids.sourceOf(QQ, { id: "Dev:1" }), "net:qq:1");
  b.prune(0, 3000);
  assert.equal(b.ids.sourceOf(QQ, { id: "Dev:1" }), undefined);
  assert.equal(b.ids.sourceOf(QQ, { id: "Dev:2" }), "net:qq:2");
  b.prune(10_000);
  assert.equal(b.ids.sourceOf(QQ, { id: "Dev:2" }), "net:qq:2", "without idsBefore the map is kept");
});

test("an edit of a message still unsent to a target changes the waiting item; no edit is queued", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  ob.accept({ sourceKey: "s1", items: [{ bridge: "b", target: TG, text: "<c> teh" }, { bridge: "b", target: QQ, text: "<c> teh" }] });
  ob.markAttempt(ob.next(QQ)!.id); // qq's copy is in flight: it may be out
  const items = ob.accept({
    sourceKey: "s1-edit",
    items: [
      { bridge: "b", target: TG, text: "<c> the", kind: "edit", ref: "s1", fallback: "<c> (correction) the", pendingText: "<c> the" },
      { bridge: "b", target: QQ, text: "<c> the", kind: "edit", ref: "s1", fallback: "<c> (correction) the", pendingText: "<c> the" },
    ],
  })!;
  assert.deepEqual(items.map((i) => [i.target, i.kind, i.ref]), [[QQ, "edit", "s1"]]);
  assert.deepEqual(ob.openItems().filter((i) => i.target === TG).map((i) => [i.kind, i.text]), [["message", "<c> the"]]);
  // A second edit replaces the first one still waiting for qq: one edit, the last text.
  ob.accept({ sourceKey: "s1-edit2", items: [{ bridge: "b", target: QQ, text: "<c> thE", kind: "edit", ref: "s1", fallback: "<c> (correction) thE" }] });
  assert.deepEqual(ob.openItems().filter((i) => i.target === QQ).map((i) => [i.kind, i.text, i.fallback]), [["message", "<c> teh", null], ["edit", "<c> thE", "<c> (correction) thE"]]);
});

test("a retraction of a message still unsent removes it; one that may be out is queued after it", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  ob.accept({ sourceKey: "s1", items: [{ bridge: "b", target: TG, text: "<c> oops" }, { bridge: "b", target: QQ, text: "<c> oops" }] });
  ob.markAttempt(ob.next(QQ)!.id);
  const items = ob.accept({
    sourceKey: "s1-retract",
    items: [
      { bridge: "b", target: TG, text: "", kind: "retract", ref: "s1" },
      { bridge: "b", target: QQ, text: "", kind: "retract", ref: "s1" },
      { bridge: "b", target: ROOM, text: "", kind: "retract", ref: "s1" }, // said there: no item of ours, queued
    ],
  })!;
  assert.deepEqual(items.map((i) => i.target), [QQ, ROOM]);
  assert.equal(ob.next(TG), undefined, "tg never sees it");
  assert.deepEqual(ob.openItems().filter((i) => i.target === QQ).map((i) => i.kind), ["message", "retract"], "in order after the original");
});

test("rich fields survive the file; resolve() fixes the form a target sent", (t) => {
  const path = tempDb(t);
  const a = new Outbox(path);
  a.accept({
    sourceKey: "s2",
    items: [{ bridge: "b", target: ROOM, text: "<a> cap", replyTo: "s1", fallback: "> c: oops\n<a> cap", media: { kind: "image", network: "tg", ref: "file-1", name: "p.jpg", size: 12 } }],
  });
  a.close();
  const b = new Outbox(path);
  t.after(() => b.close());
  const it = b.next(ROOM)!;
  assert.deepEqual([it.kind, it.replyTo, it.fallback, it.media], ["message", "s1", "> c: oops\n<a> cap", { kind: "image", network: "tg", ref: "file-1", name: "p.jpg", size: 12 }]);
  b.setMedia(it.id, { ...it.media!, url: "https://up/p.jpg" });
  assert.equal(b.next(ROOM)?.media?.url, "https://up/p.jpg", "an upload is kept for a resend");
  b.resolve(it.id, { kind: "message", text: it.fallback! });
  const again = b.next(ROOM)!;
  assert.deepEqual([again.text, again.kind, again.replyTo, again.fallback, again.media], ["> c: oops\n<a> cap", "message", null, null, null], "the plain form, for good");
});

test("an edit's or a retraction's delivery records no id (an edit may keep the original's); an excerpt is one short line", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [r, e] = ob.accept({ sourceKey: "s9", items: [{ bridge: "b", target: TG, text: "", kind: "retract", ref: "s1" }, { bridge: "b", target: QQ, text: "x", kind: "edit", ref: "s1" }] })!;
  ob.markDelivered(r!.id, "G:5");
  ob.markDelivered(e!.id, "Dev:5");
  assert.equal(ob.ids.sourceOf(TG, { id: "G:5" }), undefined);
  assert.equal(ob.ids.sourceOf(QQ, { id: "Dev:5" }), undefined);
  assert.equal(excerptOf("a\nb   c"), "a b c");
  assert.equal(excerptOf("x".repeat(70), 60), `${"x".repeat(60)}…`);
  assert.equal(excerptOf(`${"x".repeat(59)}😀`, 60), `${"x".repeat(59)}…`);
});
