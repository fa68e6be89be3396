// The embedding guide's examples, against the loopback servers they bring.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import pino from "pino";
import { HTTPStream } from "../../src/index.ts";
import { nextIndex, startFakeConsul, watchKey } from "../../scripts/examples/consul-watch.ts";
import { type Change, followChanges, startFakeCouch } from "../../scripts/examples/couchdb-changes.ts";

const quiet = pino({ level: "silent" });
const fast = { logger: quiet, retry: { minTimeout: 1, maxTimeout: 2 }, chainBackoff: { min: 1, max: 2 } };

/** Calls pushed to a list, and a promise for when the list reaches a length. */
function recorder<T>() {
  const items: T[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  return {
    items,
    push(item: T): void {
      items.push(item);
      waiters = waiters.filter((w) => (items.length >= w.n ? (w.resolve(), false) : true));
    },
    reach: (n: number): Promise<void> => new Promise((resolve) => (items.length >= n ? resolve() : waiters.push({ n, resolve }))),
  };
}

test("consul: an index that goes backwards restarts from 0; an index of 0 is sent as 1; anything else is kept", () => {
  fc.assert(
    fc.property(fc.nat(1000), fc.integer({ min: -5, max: 1000 }), (sent, answered) => {
      const next = nextIndex(sent, answered);
      if (answered <= 0) assert.equal(next, 1);
      else if (answered < sent) assert.equal(next, 0);
      else assert.equal(next, answered);
    }),
  );
  assert.equal(nextIndex(5, Number.NaN), 1); // no header at all
});

test("consul: changes are seen once each, blocking on the last index; a restore (index backwards) restarts the loop", async (t) => {
  const consul = await startFakeConsul();
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(consul.close));
  consul.set("app/flag", "off");
  const seen = recorder<[string | null, number]>();
  const watch = watchKey(s, { base: consul.url, key: "app/flag", waitSeconds: 60, onChange: (v, i) => seen.push([v, i]) });
  await seen.reach(1);
  await consul.parked(seen.items[0]![1]); // the next query waits on the index it was given
  consul.set("app/flag", "on");
  await seen.reach(2);
  await consul.parked(seen.items[1]![1]);
  consul.restore(3, "app/flag", "restored");
  await seen.reach(3);
  await consul.parked(3); // the restarted loop blocks again, on the restored index
  watch.cancel();
  await watch.done;
  assert.deepEqual(seen.items.map(([v]) => v), ["off", "on", "restored"]);
  // 0 first; then the indexes answered; after the restore's 3 < 12 the client started over from 0.
  assert.deepEqual(consul.queries, [0, 11, 12, 0, 3]);
});

test("consul: a fresh store answers index 0; the client blocks on index 1 instead of looping", async (t) => {
  const consul = await startFakeConsul({ index: 0 });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(consul.close));
  const seen = recorder<[string | null, number]>();
  const watch = watchKey(s, { base: consul.url, key: "new/key", waitSeconds: 60, onChange: (v, i) => seen.push([v, i]) });
  await seen.reach(1); // the key does not exist yet
  await consul.parked(1);
  assert.deepEqual(consul.queries, [0, 1]); // one answer at once, then a query that blocks: no loop
  consul.set("new/key", "hello");
  await seen.reach(2);
  watch.cancel();
  await watch.done;
  assert.deepEqual(seen.items, [[null, 1], ["hello", 1]]);
});

test("couchdb: heartbeats keep a hold far longer than the client's timeout alive on one request", async (t) => {
  const couch = await startFakeCouch();
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(couch.close));
  const batches = recorder<Change[]>();
  // timeout = 4 heartbeats = 1 s; the server then holds for 8 heartbeats (2 s) before the change.
  const feed = followChanges(s, { base: couch.url, db: "db", since: "now", heartbeatMs: 250, onChanges: (c) => batches.push(c) });
  await couch.heartbeatsReach(8);
  couch.put("db", "doc-1");
  await batches.reach(1);
  await couch.heartbeatsReach(couch.heartbeats() + 1); // the re-armed poll is waiting
  feed.cancel();
  await feed.done;
  assert.deepEqual(batches.items[0]!.map((c) => c.id), ["doc-1"]);
  assert.equal(couch.sinces[0], "now");
  assert.equal(couch.sinces.length, 2, `one held request, then the re-armed one: ${couch.sinces.join(" ")}`);
});

test("couchdb: a cut connection resumes from last_seq; a new follower resumes from the saved seq; every change exactly once", async (t) => {
  const couch = await startFakeCouch();
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(couch.close));
  couch.put("db", "a");
  couch.put("db", "b");
  let saved = "0";
  const ids = recorder<string>();
  const onChanges = (changes: Change[], lastSeq: string): void => {
    for (const c of changes) ids.push(c.id);
    saved = lastSeq;
  };
  const feed = followChanges(s, { base: couch.url, db: "db", since: "0", heartbeatMs: 50, onChanges });
  await ids.reach(2);
  await couch.heartbeatsReach(1); // the next poll is waiting
  const afterAB = saved;
  assert.equal(couch.dropWaiting(), 1);
  couch.put("db", "c");
  await ids.reach(3);
  feed.cancel();
  await feed.done;
  assert.deepEqual(ids.items, ["a", "b", "c"]);
  // Every request after the first carried the last_seq of the batch before it: none went back to 0.
  assert.ok(couch.sinces.slice(1).every((since) => since === afterAB || since === saved), couch.sinces.join(" "));
  assert.ok(couch.sinces.filter((since) => since === afterAB).length >= 2, "the cut poll was sent again from the same seq");

  couch.put("db", "d");
  const later = recorder<string>();
  const next = followChanges(s, { base: couch.url, db: "db", since: saved, heartbeatMs: 50, onChanges: (c) => c.forEach((x) => later.push(x.id)) });
  await later.reach(1);
  next.cancel();
  await next.done;
  assert.deepEqual(later.items, ["d"]);
});
