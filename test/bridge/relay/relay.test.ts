// The relay against an in-memory room and memory networks, over a real SQLite outbox.
// "Nothing else arrived" is proven with a sentinel: per-target order is preserved, so anything
// relayed before the sentinel would have arrived before it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ROOM, settled, startHarness, stopHarness } from "./harness.ts";
import { MemoryMuc } from "./memory-room.ts";

test("a network message goes to the room and to the other networks, formatted", async (t) => {
  const h = await startHarness(t);
  await h.qq.push({ group: "Dev", text: "hi", senderName: "alice" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 1), ["<alice> hi"]);
  assert.deepEqual((await h.tg.waitForSent(1)).map((m) => [m.group, m.text]), [["G1", "<alice> hi"]]);
  assert.equal(h.qq.attempts.length, 0, "never back to its source");
});

test("a room message goes to every network of the bridge", async (t) => {
  const h = await startHarness(t);
  h.muc.post(ROOM, "carol", "yo");
  assert.deepEqual((await h.qq.waitForSent(1)).map((m) => [m.group, m.text]), [["Dev", "<carol> yo"]]);
  assert.deepEqual((await h.tg.waitForSent(1)).map((m) => m.text), ["<carol> yo"]);
});

test("the bridge's template fills nick, text, network and group", async (t) => {
  const h = await startHarness(t, { format: "[{network}:{group}] {nick}: {text}" });
  await h.qq.push({ group: "Dev", text: "hello", senderName: "bob" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 1), ["[qq:Dev] bob: hello"]);
  h.muc.post(ROOM, "carol", "back");
  assert.equal((await h.qq.waitForSent(1))[0]?.text, `[xmpp:${ROOM}] carol: back`);
});

test("attachments are relayed as URL lines", async (t) => {
  const h = await startHarness(t);
  await h.qq.push({ group: "Dev", text: "look", attachments: ["http://img.example/1.png"] });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 1), ["<alice> look\nhttp://img.example/1.png"]);
});

test("messages arrive in the order they were received, per target", async (t) => {
  const h = await startHarness(t);
  const texts = Array.from({ length: 40 }, (_, i) => `m${i}`);
  for (const text of texts) await h.qq.push({ group: "Dev", text });
  const want = texts.map((x) => `<alice> ${x}`);
  assert.deepEqual(await h.muc.waitForCount(ROOM, 40), want);
  assert.deepEqual((await h.tg.waitForSent(40)).map((m) => m.text), want);
});

test("a message longer than the target's limit is split into parts, in order", async (t) => {
  const h = await startHarness(t, { qqMax: 20 });
  const body = "one two three four five six seven eight nine ten eleven";
  h.muc.post(ROOM, "carol", body);
  const sent = await h.tg.waitForSent(1);
  assert.equal(sent[0]?.text, `<carol> ${body}`, "tg's limit is large: one part");
  h.muc.post(ROOM, "carol", "end");
  const parts = (await h.qq.waitForSent(5)).map((m) => m.text);
  const last = parts.indexOf("<carol> end");
  assert.ok(last > 1);
  for (const p of parts) assert.ok(p.length <= 20);
  assert.equal(parts.slice(0, last).join(""), `<carol> ${body}`);
});

test("a rate limit queues messages and drops none", async (t) => {
  const h = await startHarness(t, { relay: { rate: { per_second: 400, burst: 2 } } });
  for (let i = 0; i < 20; i++) await h.qq.push({ group: "Dev", text: `r${i}` });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 20), Array.from({ length: 20 }, (_, i) => `<alice> r${i}`));
});

test("own reflections are never relayed back (identity, not nick text)", async (t) => {
  const h = await startHarness(t);
  await h.qq.push({ group: "Dev", text: "from qq" });
  await h.muc.waitForCount(ROOM, 1); // our message, reflected to us by the room
  // Another occupant whose text looks exactly like a relayed line is a person: relayed.
  h.muc.post(ROOM, "mallory", "<alice> from qq");
  // An occupant not flagged own, but carrying one of our origin-ids, is our message: not relayed.
  const ours = h.outbox.inState("delivered").find((i) => i.target === `xmpp:${ROOM}`);
  assert.ok(ours);
  h.muc.post(ROOM, "bridge-other-session", "<alice> from qq", { originId: ours.originId });
  h.muc.post(ROOM, "carol", "sentinel");
  const sent = (await h.qq.waitForSent(2)).map((m) => m.text);
  assert.deepEqual(sent, ["<mallory> <alice> from qq", "<carol> sentinel"]);
});

test("a network's echo of our own send is recognised by its message id", async (t) => {
  const h = await startHarness(t);
  h.muc.post(ROOM, "carol", "to qq");
  const [out] = await h.qq.waitForSent(1);
  assert.ok(out);
  // The network reports our own send as an inbound message with the id send() returned.
  await h.qq.push({ id: out.id, group: "Dev", text: "<carol> to qq", senderName: "bridge-account" });
  // Someone else repeating the same text, with the same display name, is relayed.
  await h.qq.push({ group: "Dev", text: "<carol> to qq", senderName: "bridge-account" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 2), ["to qq", "<bridge-account> <carol> to qq"]);
});

test("a redelivered message is relayed once", async (t) => {
  const h = await startHarness(t);
  await h.qq.push({ id: "same", group: "Dev", text: "once" });
  await h.qq.push({ id: "same", group: "Dev", text: "once" });
  await h.muc.waitForCount(ROOM, 1);
  h.muc.post(ROOM, "carol", "room once", { id: "r-1" });
  h.link.deliver(ROOM, { nick: "carol", body: "room once", id: "r-1", time: new Date() }, false);
  await h.qq.push({ group: "Dev", text: "sentinel" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 3), ["<alice> once", "room once", "<alice> sentinel"]);
  h.muc.post(ROOM, "carol", "sentinel");
  assert.deepEqual((await h.qq.waitForSent(2)).map((m) => m.text), ["<carol> room once", "<carol> sentinel"]);
});

test("the sink resolves only after the message is committed", async (t) => {
  const h = await startHarness(t, { qqOnline: true, online: false });
  await h.qq.push({ id: "durable", group: "Dev", text: "kept" });
  // Read through the database, not the relay: the commit happened before push() resolved.
  assert.ok(h.outbox.seen("net:qq:durable"));
  assert.equal(h.outbox.next(`xmpp:${ROOM}`)?.text, "<alice> kept");
});

test("retry: the send is tried again until it succeeds, and order holds", async (t) => {
  const h = await startHarness(t);
  h.tg.failNext({ kind: "retry" }, { kind: "retry", retryAfterMs: 2 });
  h.muc.post(ROOM, "carol", "a");
  h.muc.post(ROOM, "carol", "b");
  assert.deepEqual((await h.tg.waitForSent(2)).map((m) => m.text), ["<carol> a", "<carol> b"]);
  assert.deepEqual(h.tg.attempts.map((a) => a.text), ["<carol> a", "<carol> a", "<carol> a", "<carol> b"]);
});

test("fatal: a dead letter at once, counted, shown in health, and the queue moves on", async (t) => {
  const h = await startHarness(t);
  h.tg.failNext({ kind: "fatal" });
  const dead = settled(h.relay, "dead-letter");
  const next = settled(h.relay, "delivered", (i) => i.text === "<carol> next" && i.target === "net:tg:G1");
  h.muc.post(ROOM, "carol", "doomed");
  h.muc.post(ROOM, "carol", "next");
  assert.equal((await dead).text, "<carol> doomed");
  assert.deepEqual((await h.tg.waitForSent(1)).map((m) => m.text), ["<carol> next"]);
  await next; // settled in the outbox, not only received by the group
  assert.deepEqual(h.outbox.inState("failed").map((i) => [i.text, i.error]), [["<carol> doomed", "injected fatal"]]);
  assert.equal(h.metrics.failedBy.get(`${ROOM} net:tg:G1`), 1);
  await h.qq.waitForSent(2);
  assert.deepEqual(h.relay.health().outbox, { depth: 0, dead_letters: { "net:tg:G1": 1 } });
  assert.equal(h.tg.attempts.length, 2, "a dead letter is never resent");
});

test("an error that is not a SendError is maybe-delivered: settled like unknown (here resent, counted)", async (t) => {
  const h = await startHarness(t);
  const send = h.tg.send.bind(h.tg);
  let calls = 0;
  h.tg.send = async (group, text) => {
    if (++calls === 1) throw new TypeError("adapter bug");
    return send(group, text);
  };
  h.muc.post(ROOM, "carol", "x");
  h.muc.post(ROOM, "carol", "y");
  assert.deepEqual((await h.tg.waitForSent(2)).map((m) => m.text), ["<carol> x", "<carol> y"]);
  assert.equal(h.metrics.resentBy.get("tg"), 1);
});

test("a target that is down holds only its own queue", async (t) => {
  const h = await startHarness(t);
  h.qq.setOnline(false);
  h.muc.post(ROOM, "carol", "1");
  h.muc.post(ROOM, "carol", "2");
  assert.deepEqual((await h.tg.waitForSent(2)).map((m) => m.text), ["<carol> 1", "<carol> 2"]);
  assert.equal(h.qq.attempts.length, 0, "nothing is sent while logged out");
  assert.equal(h.relay.health().ok, false);
  h.qq.setOnline(true);
  assert.deepEqual((await h.qq.waitForSent(2)).map((m) => m.text), ["<carol> 1", "<carol> 2"]);
  assert.equal(h.relay.health().ok, true);
});

test("a group its network cannot send to now waits, and health says how many messages wait for it", async (t) => {
  const h = await startHarness(t);
  Object.assign(h.tg, { ready: (group: string) => group !== "G1" }); // e.g. a QQ bot group without a reply window
  h.muc.post(ROOM, "carol", "1");
  h.muc.post(ROOM, "carol", "2");
  await h.qq.waitForSent(2); // both committed (and relayed where sending is possible)
  assert.equal(h.tg.attempts.length, 0, "nothing is sent to a group that is not ready");
  assert.match(h.relay.health().networks.tg!.detail ?? "", /G1: 2 queued/);
});

test("a network without status events is sent to (its sends report failures)", async (t) => {
  const h = await startHarness(t, { qqWithoutStatusEvents: true });
  h.qq.failNext({ kind: "retry" });
  h.muc.post(ROOM, "carol", "hello");
  assert.deepEqual((await h.qq.waitForSent(1)).map((m) => m.text), ["<carol> hello"]);
});

test("nothing is sent to a room before it is joined; queued messages follow the join", async (t) => {
  const h = await startHarness(t, { online: false });
  await h.qq.push({ group: "Dev", text: "early" });
  assert.deepEqual(h.relay.health().rooms[ROOM], { state: "joining" });
  h.link.goOnline();
  assert.deepEqual(await h.muc.waitForCount(ROOM, 1), ["<alice> early"]);
});

test("first join asks for no history and relays none", async (t) => {
  const muc = new MemoryMuc();
  muc.post(ROOM, "carol", "before the bridge existed");
  const h = await startHarness(t, { muc });
  assert.deepEqual(h.link.historyAsked, [{ room: ROOM, history: { maxstanzas: 0 } }]);
  h.muc.post(ROOM, "carol", "live");
  assert.deepEqual((await h.qq.waitForSent(1)).map((m) => m.text), ["<carol> live"]);
});

test("catch-up: messages posted while we were away are relayed once, with their time", async (t) => {
  const h = await startHarness(t);
  h.muc.post(ROOM, "carol", "seen live");
  await h.qq.waitForSent(1);
  h.link.goOffline();
  const missed = [h.muc.post(ROOM, "carol", "while away 1"), h.muc.post(ROOM, "dave", "while away 2")];
  h.link.goOnline();
  const asked = h.link.historyAsked.at(-1)?.history;
  assert.ok(asked && "since" in asked, "rejoin asks for history since the last message seen");
  const stamp = (d: Date) => `[${d.toISOString().slice(0, 16).replace("T", " ")} UTC]`;
  const want = ["<carol> seen live", `${stamp(missed[0]!.time)} <carol> while away 1`, `${stamp(missed[1]!.time)} <dave> while away 2`];
  assert.deepEqual((await h.qq.waitForSent(3)).map((m) => m.text), want);
  // Another rejoin replays the same history: nothing is relayed twice.
  h.link.goOffline();
  h.link.goOnline();
  h.muc.post(ROOM, "carol", "sentinel");
  assert.deepEqual((await h.qq.waitForSent(4)).map((m) => m.text), [...want, "<carol> sentinel"]);
});

test("a send whose reflection was lost is confirmed by the next join's history, not resent", async (t) => {
  const h = await startHarness(t);
  h.link.loseReflections(1);
  const unconfirmed = settled(h.relay, "unconfirmed");
  await h.qq.push({ group: "Dev", text: "sent once" });
  await unconfirmed;
  assert.deepEqual(h.muc.bodies(ROOM), ["<alice> sent once"]);
  h.link.goOffline();
  h.link.goOnline();
  await h.qq.push({ group: "Dev", text: "after" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 2), ["<alice> sent once", "<alice> after"]);
});

test("a send that never reached the room is resent after the next join", async (t) => {
  const h = await startHarness(t);
  const real = h.link.send.bind(h.link);
  let calls = 0;
  h.link.send = async (room, body, opts) => {
    if (++calls === 1) throw new Error("connection lost before the room confirmed delivery");
    return real(room, body, opts);
  };
  const unconfirmed = settled(h.relay, "unconfirmed");
  await h.qq.push({ group: "Dev", text: "lost" });
  await unconfirmed;
  h.link.goOffline();
  h.link.goOnline();
  assert.deepEqual(await h.muc.waitForCount(ROOM, 1), ["<alice> lost"]);
});

test("after a restart, a send interrupted mid-flight is checked against history before any resend", async (t) => {
  const muc = new MemoryMuc();
  const first = await startHarness(t, { muc });
  first.link.loseReflections(1);
  const unconfirmed = settled(first.relay, "unconfirmed");
  await first.qq.push({ group: "Dev", text: "in flight" });
  await unconfirmed;
  await stopHarness(first); // the process is gone; the item is still pending with its attempt mark

  const second = await startHarness(t, { muc, dir: first.dir });
  await second.qq.push({ group: "Dev", text: "next" });
  // Per-target order: a resend of "in flight" would have come before "next".
  assert.deepEqual(await muc.waitForCount(ROOM, 2), ["<alice> in flight", "<alice> next"]);
  assert.equal(second.outbox.byOriginId(muc.log.get(ROOM)![0]!.originId!)?.state, "delivered");
});

test("after a restart, pending items are delivered", async (t) => {
  const muc = new MemoryMuc();
  const first = await startHarness(t, { muc, online: false, qqOnline: false });
  await first.tg.push({ group: "G1", text: "queued" });
  await stopHarness(first);

  const second = await startHarness(t, { muc, dir: first.dir });
  assert.deepEqual(await muc.waitForCount(ROOM, 1), ["<alice> queued"]);
  assert.deepEqual((await second.qq.waitForSent(1)).map((m) => m.text), ["<alice> queued"]);
});

test("metrics: relayed and failed counters, queue gauges, outbox depth", async (t) => {
  const h = await startHarness(t);
  h.qq.setOnline(false);
  const toTg = settled(h.relay, "delivered");
  h.muc.post(ROOM, "carol", "q");
  await toTg;
  assert.equal(h.metrics.queued.get(`${ROOM} net:qq:Dev`), 1);
  assert.equal(h.metrics.depth, 1);
  h.qq.setOnline(true);
  await h.relay.stop(60_000); // drains: returns once qq confirmed
  assert.equal(h.metrics.relayedBy.get(`${ROOM} net:qq:Dev`), 1);
  assert.equal(h.metrics.relayedBy.get(`${ROOM} net:tg:G1`), 1);
  assert.equal(h.metrics.queued.get(`${ROOM} net:qq:Dev`), 0);
  assert.equal(h.metrics.depth, 0);
});

test("stop drains the outbox before returning", async (t) => {
  const h = await startHarness(t);
  h.qq.hold();
  h.muc.post(ROOM, "carol", "drain me");
  await h.qq.waitForAttempts(1);
  const stopping = h.relay.stop(60_000);
  h.qq.release();
  assert.deepEqual(await stopping, { drained: true, depth: 0 });
  assert.deepEqual(h.qq.sent.map((m) => m.text), ["<carol> drain me"]);
});

test("stop is bounded: what cannot be delivered stays pending for the next run", async (t) => {
  const h = await startHarness(t);
  h.qq.setOnline(false);
  h.muc.post(ROOM, "carol", "later");
  await h.tg.waitForSent(1);
  assert.deepEqual(await h.relay.stop(10), { drained: false, depth: 1 });
  assert.equal(h.outbox.next("net:qq:Dev")?.text, "<carol> later");
});

test("a bridge naming an unknown network is refused with its path", (t) => {
  return assert.rejects(
    startHarness(t, { relay: { bridges: [{ xmpp: ROOM, format: "", links: [{ network: "nope", group: "x" }] }] } }),
    /bridges\[0\]\.links\[0\]: no network "nope"/,
  );
});

test("catch-up works for a room that was quiet before we lost it: the first join counts as seen", async (t) => {
  const muc = new MemoryMuc();
  // Said a minute before the bridge first joined (outside the catch-up slack): never relayed.
  muc.log.set(ROOM, [{ nick: "carol", body: "before the bridge existed", id: "old", time: new Date(Date.now() - 60_000) }]);
  const h = await startHarness(t, { muc });
  h.link.goOffline();
  muc.post(ROOM, "carol", "while away");
  h.link.goOnline();
  const asked = h.link.historyAsked.at(-1)?.history;
  assert.ok(asked && "since" in asked, "the rejoin asks for history since the first join");
  const sent = (await h.qq.waitForSent(1)).map((m) => m.text);
  assert.match(sent[0] ?? "", /^\[\d{4}-\d\d-\d\d \d\d:\d\d UTC\] <carol> while away$/);
  h.muc.post(ROOM, "carol", "sentinel");
  assert.deepEqual((await h.qq.waitForSent(2)).map((m) => m.text).slice(1), ["<carol> sentinel"], "nothing from before the first join");
});

test("a send left unconfirmed while the room stays joined is checked by a rejoin, not waited on forever", async (t) => {
  const h = await startHarness(t);
  h.link.loseReflections(1);
  const unconfirmed = settled(h.relay, "unconfirmed");
  await h.qq.push({ group: "Dev", text: "reached the room" });
  await h.qq.push({ group: "Dev", text: "queued behind it" });
  await unconfirmed; // and the link stays online: no reconnect would ever rejoin the room
  // The rejoin's history shows the first send: confirmed, not resent; the queue moves on.
  assert.deepEqual(await h.muc.waitForCount(ROOM, 2), ["<alice> reached the room", "<alice> queued behind it"]);
  await h.qq.push({ group: "Dev", text: "sentinel" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 3), ["<alice> reached the room", "<alice> queued behind it", "<alice> sentinel"]);
  assert.equal(h.outbox.byOriginId(h.muc.log.get(ROOM)![0]!.originId!)?.state, "delivered");
  assert.equal(h.outbox.next(`xmpp:${ROOM}`), undefined);
});

test("items of a target no bridge sends to any more are kept, but neither counted in depth nor waited for", async (t) => {
  const muc = new MemoryMuc();
  const first = await startHarness(t, { muc });
  first.tg.setOnline(false);
  first.muc.post(ROOM, "carol", "for tg");
  await first.qq.waitForSent(1);
  await stopHarness(first);

  // The operator removed tg from the bridge between the runs.
  const second = await startHarness(t, { muc, dir: first.dir, relay: { bridges: [{ xmpp: ROOM, format: "", links: [{ network: "qq", group: "Dev" }] }] } });
  assert.equal(second.relay.health().outbox.depth, 0);
  assert.equal(second.metrics.depth, 0);
  assert.deepEqual(await second.relay.stop(60_000), { drained: true, depth: 0 });
  assert.equal(second.outbox.next("net:tg:G1")?.text, "<carol> for tg", "kept for a config that names the target again");
});
