// Settling maybe-delivered sends by evidence, with MemoryNetwork modelling each network's
// evidence: own echoes, a history lookup, or neither. Every fault is tried before delivery
// (nothing reached the group) and after it (the group got it, the answer was lost).
// "Exactly once" is proven with a sentinel sent after the message: per-target order means a
// resend would have reached the group before it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ROOM, settled, startHarness } from "./harness.ts";

const texts = (h: { tg: { sent: { text: string }[] } }) => h.tg.sent.map((m) => m.text);

async function sendAndSentinel(h: Awaited<ReturnType<typeof startHarness>>, n: number): Promise<string[]> {
  h.muc.post(ROOM, "carol", "maybe");
  h.muc.post(ROOM, "carol", "sentinel");
  const sent = (await h.tg.waitForSent(n)).map((m) => m.text);
  assert.equal(sent.at(-1), "<carol> sentinel");
  return sent;
}

test("echo network, unknown after delivery: the own echo confirms it, exactly once, nothing looked up or resent", async (t) => {
  const h = await startHarness(t, { tgEvidence: { echo: true } });
  h.tg.failNext({ kind: "unknown", delivered: true });
  assert.deepEqual(await sendAndSentinel(h, 2), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.tg.attempts.length, 2);
  assert.equal(h.metrics.resentBy.get("tg"), undefined);
  await h.tg.echoesSettled();
  const item = h.outbox.inState("delivered").find((i) => i.text === "<carol> maybe" && i.target === "net:tg:G1");
  assert.equal(item?.resultId, h.tg.sent[0]?.id, "the echo's id is stored: a redelivered echo is recognised");
  assert.equal(h.metrics.relayedBy.get(`${ROOM} net:tg:G1`), 2, "each delivery counted once (echo and answer race)");
});

test("echo network, unknown before delivery: no echo within the window, so it is sent again (counted), once in the group", async (t) => {
  const h = await startHarness(t, { tgEvidence: { echo: true }, relay: { echoWindowMs: 20 } });
  h.tg.failNext({ kind: "unknown" });
  assert.deepEqual(await sendAndSentinel(h, 2), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.tg.attempts.length, 3);
  assert.equal(h.metrics.resentBy.get("tg"), 1);
});

test("echo network: own messages are never relayed, also those that match nothing", async (t) => {
  const h = await startHarness(t, { tgEvidence: { echo: true } });
  h.muc.post(ROOM, "carol", "to tg");
  await h.tg.waitForSent(1);
  await h.tg.echoesSettled(); // the echo of a confirmed send: recognised by its id
  await h.tg.push({ group: "G1", text: "said by our account elsewhere", own: true });
  await h.tg.push({ group: "G1", text: "sentinel" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 2), ["to tg", "<alice> sentinel"]);
  assert.deepEqual((await h.qq.waitForSent(2)).map((m) => m.text), ["<carol> to tg", "<alice> sentinel"]);
});

test("history network, unknown after delivery: findSent finds it, exactly once", async (t) => {
  const h = await startHarness(t, { tgEvidence: { history: true } });
  h.tg.failNext({ kind: "unknown", delivered: true });
  assert.deepEqual(await sendAndSentinel(h, 2), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.tg.attempts.length, 2);
  assert.equal(h.tg.lookups.length, 1);
  const item = h.outbox.inState("delivered").find((i) => i.text === "<carol> maybe" && i.target === "net:tg:G1");
  assert.ok(item && item.resultId === h.tg.sent[0]?.id);
  assert.ok(h.tg.lookups[0]!.since.getTime() <= h.tg.sent[0]!.time.getTime(), "looked up since before the attempt");
  assert.equal(h.metrics.resentBy.get("tg"), undefined);
});

test("history network, unknown before delivery: findSent says not there, so it is resent (not counted), once in the group", async (t) => {
  const h = await startHarness(t, { tgEvidence: { history: true } });
  h.tg.failNext({ kind: "unknown" });
  assert.deepEqual(await sendAndSentinel(h, 2), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.tg.attempts.length, 3);
  assert.equal(h.metrics.resentBy.get("tg"), undefined);
});

test("history network: a lookup that fails is asked again later, never taken as an answer", async (t) => {
  const h = await startHarness(t, { tgEvidence: { history: true } });
  h.tg.failNext({ kind: "unknown", delivered: true });
  h.tg.failLookups(2);
  assert.deepEqual(await sendAndSentinel(h, 2), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.tg.lookups.length, 3);
  assert.equal(h.tg.attempts.length, 2);
});

test("echo and history: the echo was lost, the history lookup after the window finds it, exactly once", async (t) => {
  const h = await startHarness(t, { tgEvidence: { echo: true, history: true }, relay: { echoWindowMs: 20 } });
  h.tg.loseEchoes(1);
  h.tg.failNext({ kind: "unknown", delivered: true });
  assert.deepEqual(await sendAndSentinel(h, 2), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.tg.lookups.length, 1);
  assert.equal(h.metrics.resentBy.get("tg"), undefined);
});

test("no evidence, unknown after delivery: resent after a backoff, at least once, counted and logged", async (t) => {
  const h = await startHarness(t);
  h.tg.failNext({ kind: "unknown", delivered: true });
  assert.deepEqual(await sendAndSentinel(h, 3), ["<carol> maybe", "<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.metrics.resentBy.get("tg"), 1);
});

test("no evidence, unknown before delivery: resent, once in the group, counted", async (t) => {
  const h = await startHarness(t);
  h.tg.failNext({ kind: "unknown" }, { kind: "unknown" });
  assert.deepEqual(await sendAndSentinel(h, 2), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.metrics.resentBy.get("tg"), 2);
});

test("retry before delivery: resent, once, never counted as unconfirmed", async (t) => {
  const h = await startHarness(t);
  h.tg.failNext({ kind: "retry" });
  assert.deepEqual(await sendAndSentinel(h, 2), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.metrics.resentBy.get("tg"), undefined);
});

test("dead letter after relay.dead_letter_after: logged, counted, in health, announced in the room; the queue moves on", async (t) => {
  let clock = Date.parse("2026-11-30T00:00:00Z");
  const h = await startHarness(t, { relay: { now: () => clock, deadLetterAfterMs: 60_000, deadLetterNotice: true } });
  h.tg.failNext({ kind: "retry" }, { kind: "retry" });
  const first = new Promise<void>((resolve) => h.relay.on("settled", (_i, k) => k === "retry" && resolve()));
  const dead = settled(h.relay, "dead-letter");
  h.muc.post(ROOM, "carol", "stuck");
  await first;
  clock += 60_000; // a minute of failing, without waiting for it
  h.muc.post(ROOM, "carol", "next");
  const item = await dead;
  assert.equal(item.text, "<carol> stuck");
  assert.deepEqual((await h.tg.waitForSent(1)).map((m) => m.text), ["<carol> next"]);
  assert.match(h.outbox.get(item.id)?.error ?? "", /^still failing after 60 s: injected retry$/);
  assert.equal(h.metrics.failedBy.get(`${ROOM} net:tg:G1`), 1);
  assert.deepEqual(h.relay.health().outbox.dead_letters, { "net:tg:G1": 1 });
  const room = await h.muc.waitForCount(ROOM, 3);
  assert.ok(room.includes("could not deliver carol's message to tg:G1: still failing after 60 s: injected retry"), room.join("\n"));
});

test("no notice by default; a room message's dead letter on one group never stops the other group", async (t) => {
  const h = await startHarness(t);
  h.tg.failNext({ kind: "fatal" });
  h.muc.post(ROOM, "carol", "a");
  h.muc.post(ROOM, "carol", "b");
  assert.deepEqual((await h.qq.waitForSent(2)).map((m) => m.text), ["<carol> a", "<carol> b"]);
  assert.deepEqual((await h.tg.waitForSent(1)).map((m) => m.text), ["<carol> b"]);
  assert.deepEqual(h.muc.bodies(ROOM), ["a", "b"], "nothing announced");
});

test("a message with nothing readable is relayed as [unsupported message], not as an empty line", async (t) => {
  const h = await startHarness(t);
  await h.qq.push({ group: "Dev", text: "  ", senderName: "bob" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 1), ["<bob> [unsupported message]"]);
  assert.deepEqual(texts(h), []);
  assert.deepEqual((await h.tg.waitForSent(1)).map((m) => m.text), ["<bob> [unsupported message]"]);
});

test("a delayed room message seen for the first time is relayed (a resumed stream's redelivery), once", async (t) => {
  const h = await startHarness(t);
  // The first join asked no history, so no catch-up bound is set: before, this was dropped.
  const entry = { nick: "carol", body: "said during the cut", id: "cut-1", time: new Date(Date.now() - 3000) };
  h.link.deliver(ROOM, entry, true);
  h.link.deliver(ROOM, entry, true); // redelivered again: the dedupe key holds
  h.muc.post(ROOM, "carol", "sentinel");
  const sent = (await h.qq.waitForSent(2)).map((m) => m.text);
  assert.match(sent[0] ?? "", /^\[.* UTC\] <carol> said during the cut$/);
  assert.deepEqual(sent.slice(1), ["<carol> sentinel"]);
});
