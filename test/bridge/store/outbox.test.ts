import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Outbox } from "../../../bridge/store/outbox.ts";

function tempDb(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "pb-outbox-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "state", "outbox.sqlite");
}

const msg = (key: string, ...targets: string[]) => ({
  sourceKey: key,
  items: targets.map((target) => ({ bridge: "room@conf", target, text: `${key} -> ${target}` })),
});

test("a committed message is seen by a second instance on the same file", (t) => {
  const path = tempDb(t);
  const a = new Outbox(path);
  t.after(() => a.close());
  const items = a.accept(msg("net:qq:1", "xmpp:room@conf", "net:tg:9"));
  assert.equal(items?.length, 2);
  const b = new Outbox(path);
  t.after(() => b.close());
  assert.equal(b.depth(), 2);
  assert.equal(b.next("xmpp:room@conf")?.originId, items?.[0]?.originId);
  assert.ok(b.seen("net:qq:1"));
});

test("a redelivered message (same key) writes nothing", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  assert.ok(ob.accept(msg("net:qq:1", "xmpp:r")));
  assert.equal(ob.accept(msg("net:qq:1", "xmpp:r")), null);
  assert.equal(ob.depth(), 1);
});

test("items of one target come out oldest first; delivery moves to the next", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  for (let i = 1; i <= 3; i++) ob.accept(msg(`k${i}`, "xmpp:r", "net:qq:g"));
  const seen: string[] = [];
  for (let it = ob.next("xmpp:r"); it; it = ob.next("xmpp:r")) {
    seen.push(it.sourceKey);
    assert.ok(ob.markDelivered(it.id));
  }
  assert.deepEqual(seen, ["k1", "k2", "k3"]);
  assert.equal(ob.depth(), 3, "the other target's items are untouched");
});

test("parts of one message to one target get distinct origin-ids", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const items = ob.accept({ sourceKey: "k", items: [1, 2, 3].map((i) => ({ bridge: "b", target: "xmpp:r", text: `part ${i}` })) });
  assert.equal(new Set(items?.map((i) => i.originId)).size, 3);
});

test("a reflection confirms by origin-id, also an item dead-lettered as unknown", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [a, b] = ob.accept(msg("k", "xmpp:r", "xmpp:s")) ?? [];
  assert.ok(a && b);
  assert.equal(ob.markDeliveredByOriginId(a.originId)?.id, a.id);
  assert.equal(ob.markDeliveredByOriginId(a.originId), undefined, "only once");
  ob.settle(b.id, "unknown", "timeout");
  assert.equal(ob.markDeliveredByOriginId(b.originId)?.state, "delivered");
  assert.equal(ob.depth(), 0);
});

test("attempt marks survive a reopen; clearing one makes the item plainly pending", (t) => {
  const path = tempDb(t);
  const a = new Outbox(path);
  const [it] = a.accept(msg("k", "net:qq:g")) ?? [];
  assert.ok(it);
  a.markAttempt(it.id, 1234);
  a.close();
  const b = new Outbox(path);
  t.after(() => b.close());
  assert.equal(b.next("net:qq:g")?.attemptedAt, 1234);
  assert.equal(b.oldestAttempt("net:qq:g"), 1234);
  b.clearAttempt(it.id, "503");
  assert.equal(b.next("net:qq:g")?.attemptedAt, null);
  assert.equal(b.next("net:qq:g")?.attempts, 1);
});

test("dead letters stay visible and never come back as pending", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [it] = ob.accept(msg("k", "net:qq:g")) ?? [];
  assert.ok(it && ob.settle(it.id, "failed", "no such group"));
  assert.equal(ob.next("net:qq:g"), undefined);
  assert.deepEqual(ob.inState("failed").map((i) => i.error), ["no such group"]);
  assert.equal(ob.markDelivered(it.id), false);
});

test("the network's id for a delivered send identifies our own echo", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [it] = ob.accept(msg("k", "net:qq:g")) ?? [];
  assert.ok(it);
  ob.markDelivered(it.id, "qq-777");
  assert.ok(ob.sentAs("net:qq:g", "qq-777"));
  assert.ok(!ob.sentAs("net:qq:other", "qq-777"));
});

test("a room's last-seen time only moves forward", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  assert.equal(ob.lastSeen("r"), undefined);
  ob.accept({ sourceKey: "a", items: [], roomSeen: { room: "r", time: new Date(2000) } });
  ob.setLastSeen("r", new Date(1000));
  assert.equal(ob.lastSeen("r")?.getTime(), 2000);
  ob.setLastSeen("r", new Date(3000));
  assert.equal(ob.lastSeen("r")?.getTime(), 3000);
});

test("a failing accept writes nothing at all", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const bad = { sourceKey: "k", items: [{ bridge: "b", target: "xmpp:r", text: "ok" }, { bridge: "b", target: "xmpp:r", text: null as unknown as string }] };
  assert.throws(() => ob.accept(bad));
  assert.equal(ob.depth(), 0);
  assert.ok(!ob.seen("k"), "the dedupe key is rolled back too, so a redelivery is accepted");
  assert.ok(ob.accept(msg("k", "xmpp:r")));
});

test("prune forgets old delivered items and keys, keeps pending and dead letters", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [d, f, p] = ob.accept(msg("k", "t1", "t2", "t3"), 1000) ?? [];
  assert.ok(d && f && p);
  ob.markDelivered(d.id, "x", 1000);
  ob.settle(f.id, "failed", "bad", 1000);
  ob.prune(5000);
  assert.equal(ob.get(d.id), undefined);
  assert.equal(ob.get(f.id)?.state, "failed");
  assert.equal(ob.get(p.id)?.state, "pending");
  assert.ok(!ob.seen("k"));
});

test("the database file is in WAL mode", (t) => {
  const path = tempDb(t);
  const ob = new Outbox(path);
  ob.close();
  // Checked through a second connection: journal_mode=WAL is persistent in the file.
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite");
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  assert.equal((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
});
