import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Outbox, OutboxError } from "../../../bridge/store/outbox.ts";

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

test("a reflection confirms by origin-id, once, also an unconfirmed item", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [a, b] = ob.accept(msg("k", "xmpp:r", "xmpp:s")) ?? [];
  assert.ok(a && b);
  assert.equal(ob.confirm({ originId: a.originId })?.id, a.id);
  assert.equal(ob.confirm({ originId: a.originId }), undefined, "only once");
  ob.markAttempt(b.id);
  ob.markFailed(b.id, "timeout", true);
  assert.equal(ob.confirm({ originId: b.originId })?.state, "delivered");
  assert.equal(ob.depth(), 0);
});

test("an echo confirms the target's unconfirmed item by its text (whitespace aside), storing the echo's id", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [a] = ob.accept({ sourceKey: "k1", items: [{ bridge: "b", target: "net:qq:g", text: "<carol>  two\nlines " }] }) ?? [];
  ob.accept(msg("k2", "net:qq:g"));
  assert.ok(a);
  const echo = { target: "net:qq:g", text: "<carol> two lines", resultId: "g:77" };
  assert.equal(ob.confirm(echo), undefined, "not attempted yet: an echo cannot be of it");
  ob.markAttempt(a.id);
  assert.equal(ob.confirm({ ...echo, text: "<carol> other" }), undefined, "another text");
  assert.equal(ob.confirm({ ...echo, target: "net:qq:h" }), undefined, "another target");
  const got = ob.confirm(echo);
  assert.equal(got?.id, a.id);
  assert.equal(got?.resultId, "g:77");
  assert.ok(ob.sentAs("net:qq:g", "g:77"), "a later echo with that id is recognised");
  assert.equal(ob.confirm(echo), undefined, "the next item was not attempted: nothing more is confirmed");
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
  assert.equal(b.markFailed(it.id, "503", false, 5000), 5000);
  assert.equal(b.next("net:qq:g")?.attemptedAt, null);
  assert.equal(b.next("net:qq:g")?.attempts, 1);
  assert.equal(b.next("net:qq:g")?.error, "503");
});

test("a maybe-delivered failure keeps the attempt mark; failingSince is the first failure's time", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [it] = ob.accept(msg("k", "net:qq:g")) ?? [];
  assert.ok(it);
  ob.markAttempt(it.id, 1000);
  assert.equal(ob.markFailed(it.id, "reset", true, 2000), 2000);
  assert.equal(ob.next("net:qq:g")?.attemptedAt, 1000);
  ob.markAttempt(it.id, 3000);
  assert.equal(ob.markFailed(it.id, "reset again", true, 4000), 2000);
  assert.deepEqual([ob.get(it.id)?.failingSince, ob.get(it.id)?.error, ob.get(it.id)?.attempts], [2000, "reset again", 2]);
  ob.markDelivered(it.id);
  assert.equal(ob.markFailed(it.id, "late", true), undefined, "no longer pending");
});

test("dead letters stay visible and never come back as pending", (t) => {
  const ob = new Outbox(tempDb(t));
  t.after(() => ob.close());
  const [it] = ob.accept(msg("k", "net:qq:g")) ?? [];
  assert.ok(it && ob.deadLetter(it.id, "no such group"));
  assert.equal(ob.next("net:qq:g"), undefined);
  assert.deepEqual(ob.inState("failed").map((i) => i.error), ["no such group"]);
  assert.deepEqual(ob.deadLetters(), [{ target: "net:qq:g", n: 1 }]);
  assert.equal(ob.markDelivered(it.id), undefined);
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
  ob.deadLetter(f.id, "bad", 1000);
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

/** The schema of the first release: a file written by it, with a row in the old terminal state "unknown". */
const OLD_SCHEMA = `
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, source_key TEXT NOT NULL, bridge TEXT NOT NULL, target TEXT NOT NULL,
  origin_id TEXT NOT NULL UNIQUE, text TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0, attempted_at INTEGER, result_id TEXT, error TEXT,
  created_at INTEGER NOT NULL, done_at INTEGER
);
CREATE INDEX outbox_pending ON outbox(target, id) WHERE state = 'pending';
CREATE INDEX outbox_result ON outbox(target, result_id) WHERE result_id IS NOT NULL;
CREATE TABLE seen (key TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE room_seen (room TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO seen VALUES ('net:qq:1', 1000), ('net:qq:2', 1000);
INSERT INTO outbox (source_key, bridge, target, origin_id, text, state, attempts, attempted_at, error, created_at, done_at)
VALUES ('net:qq:1', 'r@c', 'net:tg:g', 'pb-old-1', '<a> maybe', 'unknown', 1, NULL, 'connection reset', 1000, 2000),
       ('net:qq:2', 'r@c', 'net:tg:g', 'pb-old-2', '<a> after', 'pending', 0, NULL, NULL, 1500, NULL),
       ('net:qq:2', 'r@c', 'net:tg:h', 'pb-old-3', '<a> refused', 'failed', 1, NULL, 'no such group', 1500, 2000);
`;

test("migration: a file of the first schema opens; its unknown rows become unconfirmed pending items, in order", (t) => {
  const path = tempDb(t);
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite");
  mkdirSync(dirname(path), { recursive: true });
  const old = new DatabaseSync(path);
  old.exec(OLD_SCHEMA);
  old.close();

  const ob = new Outbox(path);
  t.after(() => ob.close());
  assert.equal(ob.migratedUnknown, 1);
  const head = ob.next("net:tg:g");
  assert.deepEqual(
    [head?.text, head?.state, head?.attemptedAt, head?.failingSince, head?.error, head?.sender],
    ["<a> maybe", "pending", 1000, 2000, "connection reset", ""],
    "pending again, with an attempt mark no later than the real attempt (settled by evidence)",
  );
  assert.equal(ob.depth(), 2);
  assert.deepEqual(ob.deadLetters(), [{ target: "net:tg:h", n: 1 }], "dead letters stay dead");
  assert.ok(ob.seen("net:qq:1"));
  // New columns work on the migrated file, and a second open migrates nothing.
  assert.equal(ob.accept({ sourceKey: "net:qq:3", items: [{ bridge: "r@c", target: "net:tg:g", text: "new", sender: "bob" }] })?.[0]?.sender, "bob");
  ob.close();
  const again = new Outbox(path);
  t.after(() => again.close());
  assert.equal(again.migratedUnknown, 0);
  assert.equal(again.depth(), 3);
});

test("outbox errors name the database file", (t) => {
  const path = tempDb(t);
  mkdirSync(path, { recursive: true }); // a directory where the file should be
  assert.throws(() => new Outbox(path), (err: Error) => err instanceof OutboxError && err.message.includes(path) && /open/.test(err.message));
  const ok = new Outbox(`${path}-2`);
  ok.close();
  assert.throws(() => ok.depth(), (err: Error) => err.message.startsWith(`outbox ${path}-2: depth failed`));
});

/** The schema of the release before rich messages (failing_since and sender, no kinds, no id map). */
const PREVIOUS_SCHEMA = `
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, source_key TEXT NOT NULL, bridge TEXT NOT NULL, target TEXT NOT NULL,
  origin_id TEXT NOT NULL UNIQUE, text TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0, attempted_at INTEGER, result_id TEXT, error TEXT,
  created_at INTEGER NOT NULL, done_at INTEGER, failing_since INTEGER, sender TEXT
);
CREATE INDEX outbox_pending ON outbox(target, id) WHERE state = 'pending';
CREATE INDEX outbox_result ON outbox(target, result_id) WHERE result_id IS NOT NULL;
CREATE TABLE seen (key TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE room_seen (room TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO seen VALUES ('net:qq:1', 1000);
INSERT INTO outbox (source_key, bridge, target, origin_id, text, state, attempts, attempted_at, created_at, sender)
VALUES ('net:qq:1', 'r@c', 'net:tg:g', 'pb-prev-1', '<a> waiting', 'pending', 1, 1200, 1000, 'a'),
       ('net:qq:1', 'r@c', 'xmpp:r@c', 'pb-prev-2', '<a> done', 'delivered', 1, NULL, 1000, 'a');
`;

test("migration: a file of the previous schema opens; its rows are plain messages, the id map and edits work", (t) => {
  const path = tempDb(t);
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite");
  mkdirSync(dirname(path), { recursive: true });
  const old = new DatabaseSync(path);
  old.exec(PREVIOUS_SCHEMA);
  old.close();

  const ob = new Outbox(path);
  t.after(() => ob.close());
  const head = ob.next("net:tg:g");
  assert.deepEqual(
    [head?.text, head?.kind, head?.ref, head?.replyTo, head?.fallback, head?.media, head?.attemptedAt],
    ["<a> waiting", "message", null, null, null, null, 1200],
    "an old row is a plain message, its attempt mark kept",
  );
  // The new columns and the id map work on the migrated file: an edit of the in-flight message is queued.
  const edit = ob.accept({
    sourceKey: "net:qq:2",
    items: [{ bridge: "r@c", target: "net:tg:g", text: "<a> fixed", kind: "edit", ref: "net:qq:1", fallback: "<a> (correction) fixed" }],
    ids: { side: "net:qq:Dev", id: "Dev:2", author: "a", excerpt: "fixed" },
  });
  assert.deepEqual(edit?.map((i) => [i.kind, i.ref]), [["edit", "net:qq:1"]]);
  assert.equal(ob.ids.sourceOf("net:qq:Dev", { id: "Dev:2" }), "net:qq:2");
  ob.markDelivered(head!.id, "g:1");
  assert.equal(ob.ids.sourceOf("net:tg:g", { id: "g:1" }), "net:qq:1");
  ob.close();
  const again = new Outbox(path);
  t.after(() => again.close());
  assert.equal(again.ids.sourceOf("net:tg:g", { id: "g:1" }), "net:qq:1", "a second open keeps the map");
  assert.equal(again.depth(), 1);
});
