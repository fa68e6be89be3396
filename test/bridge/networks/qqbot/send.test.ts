// Sending within the platform's limits: group replies only inside a window (≤ 5 per msg_id, a
// fresh msg_seq each), channels reply passively while a window is open and spend the daily
// proactive quota otherwise; with neither the group is not ready and the message waits without a
// request. Send faults in both variants: before the server acted (retry) and after (unknown; for
// channels the own echo then reaches the sink).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { NetworkStatus } from "../../../../bridge/network.ts";
import { alice, assertCleanRun, CH, CH2, echoes, GROUP_OPENID, GRP, harness, others, sendError } from "./harness.ts";

const T = { timeout: 30_000 };

test("group: no window → not ready, status says it waits, send refused without a request; an @-message opens 5 replies with distinct msg_seq; then it waits again", T, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ groups: [GRP] });
  const seen: NetworkStatus[] = [];
  adapter.onStatus!((s) => seen.push(s));
  assert.equal(adapter.ready(GRP), false);
  assert.match(adapter.status().detail ?? "", /group:G0A1B2C3D4E5F60718293A4B5C6D7E8F: waiting for a reply window/);
  assert.equal(adapter.status().ok, true, "logged in and receiving: a closed window is not an outage");
  const waiting = await sendError(adapter.send(GRP, "too early"), "retry");
  assert.ok((waiting.retryAfterMs ?? 0) > 0);
  assert.equal(h.sim.state.counters.sends, 0, "nothing was asked of the server");

  const msgId = h.sim.sayInGroup(GROUP_OPENID, "M1", "hi bot");
  await others(inbox, 1);
  assert.equal(adapter.ready(GRP), true);
  assert.ok(seen.some((s) => !/waiting/.test(s.detail ?? "")), "the status change told the relay to look again");
  for (let i = 1; i <= 5; i++) await adapter.send(GRP, `reply ${i}`);
  assert.deepEqual(h.sim.sent(GRP).map((m) => [m.msgId, m.msgSeq, m.text]), [1, 2, 3, 4, 5].map((i) => [msgId, i, `reply ${i}`]));
  assert.equal(adapter.ready(GRP), false, "5 replies per msg_id");
  await sendError(adapter.send(GRP, "sixth"), "retry");
  assert.equal(h.sim.state.counters.sends, 5);
  assert.match(adapter.status().detail ?? "", /waiting for a reply window/);
  assertCleanRun(h);
});

test("group: after the 5-minute window closes the message waits (status says so); the next @-message carries it", T, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ groups: [GRP] });
  h.sim.sayInGroup(GROUP_OPENID, "M1", "first");
  await others(inbox, 1);
  await adapter.send(GRP, "in time");
  h.sim.state.advance(5 * 60_000);
  assert.equal(adapter.ready(GRP), false);
  await sendError(adapter.send(GRP, "late"), "retry");
  assert.match(adapter.status().detail ?? "", /waiting for a reply window \(an @-mention of the bot opens one\)/);
  assert.equal(h.sim.state.counters.sends, 1);
  const second = h.sim.sayInGroup(GROUP_OPENID, "M2", "second");
  await others(inbox, 2);
  await adapter.send(GRP, "late");
  assert.deepEqual(h.sim.sent(GRP).map((m) => m.text), ["in time", "late"]);
  assert.equal(h.sim.sent(GRP)[1]!.msgId, second);
  assert.doesNotMatch(adapter.status().detail ?? "", /waiting/);
  assertCleanRun(h);
});

test("group: a window the server already closed (40034005) is dropped and the send retried later, never as a duplicate", T, async (t) => {
  const h = await harness(t);
  // Our clock is the real one; the server's runs ahead: it says expired while we count the window open.
  const { adapter, inbox } = await h.run({ groups: [GRP], now: Date.now });
  h.sim.sayInGroup(GROUP_OPENID, "M1", "open");
  await others(inbox, 1);
  h.sim.state.advance(5 * 60_000 + 1_000);
  const e = await sendError(adapter.send(GRP, "x"), "retry");
  assert.match(e.message, /40034005/);
  assert.equal(adapter.ready(GRP), false);
  assert.deepEqual(h.sim.sent(GRP), []);
  assertCleanRun(h);
});

test("channel: passive reply while a window is open, proactive otherwise; the quota left is counted and shown; used up → waits", T, async (t) => {
  const h = await harness(t, { quotaPerDay: 2 });
  const { adapter, inbox } = await h.run({ groups: [CH, CH2], quotaPerDay: 2 });
  assert.equal(adapter.evidence.echo, true, "channels echo the bot's own sends (GUILD_MESSAGES)");
  const msgId = h.sim.sayInChannel("1001", alice, "hello");
  await others(inbox, 1);
  const passive = await adapter.send(CH, "passive");
  const echo = (await echoes(inbox, 1))[0]!;
  assert.equal(echo.id, passive.id, "SendResult.id is the id the own echo carries");
  assert.equal(echo.group, CH);
  assert.equal(h.sim.sent(CH)[0]!.msgId, msgId);
  assert.match(adapter.status().detail ?? "", /channel:1002: proactive quota 2 left today/);
  // Channel 1002 has no window: proactive, counted.
  await adapter.send(CH2, "proactive 1");
  assert.equal(h.sim.sent(CH2)[0]!.msgId, undefined);
  assert.match(adapter.status().detail ?? "", /channel:1002: proactive quota 1 left today/);
  await adapter.send(CH2, "proactive 2");
  assert.equal(adapter.ready(CH2), false);
  await sendError(adapter.send(CH2, "over quota"), "retry");
  assert.match(adapter.status().detail ?? "", /channel:1002: waiting for a reply window \(proactive quota used up today\)/);
  assert.equal(h.sim.sent(CH2).length, 2);
  // A message said there opens a window: passive replies need no quota.
  h.sim.sayInChannel("1002", alice, "anyone?");
  await others(inbox, 2);
  assert.equal(adapter.ready(CH2), true);
  await adapter.send(CH2, "over quota");
  assert.deepEqual(h.sim.sent(CH2).map((m) => m.text), ["proactive 1", "proactive 2", "over quota"]);
  assertCleanRun(h);
});

test("channel: a quota the server says is used up (22009, e.g. spent before a restart) is taken as such: the send waits", T, async (t) => {
  const h = await harness(t, { quotaPerDay: 1 });
  h.sim.state.takeQuota("1002");
  const { adapter } = await h.run({ groups: [CH2] });
  assert.equal(adapter.ready(CH2), true, "this process has not counted anything yet");
  await sendError(adapter.send(CH2, "x"), "retry");
  assert.equal(adapter.ready(CH2), false);
  assert.deepEqual(h.sim.sent(CH2), []);
  assertCleanRun(h);
});

test("channel send faults: before the server acted → retry (500) or unknown without echo (reset, stall); after → unknown, and the own echo reaches the sink", T, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ groups: [CH] });
  h.sim.sayInChannel("1001", alice, "open a window");
  await others(inbox, 1);

  h.sim.failNextSend("500");
  await sendError(adapter.send(CH, "a"), "retry");
  for (const fault of ["reset", "stall"] as const) {
    h.sim.failNextSend(fault);
    await sendError(adapter.send(CH, `lost ${fault}`), "unknown"); // the client cannot tell it from its twin below
  }
  assert.deepEqual(h.sim.sent(CH), []);

  for (const [i, fault] of (["reset-after", "500-after", "stall-after"] as const).entries()) {
    h.sim.failNextSend(fault);
    await sendError(adapter.send(CH, `delivered ${fault}`), "unknown");
    const echo = (await echoes(inbox, i + 1))[i]!;
    assert.deepEqual([echo.own, echo.text, echo.id], [true, `delivered ${fault}`, h.sim.sent(CH)[i]!.id]);
  }
  await adapter.send(CH, "a"); // the relay's retry of the "before" case delivers it once
  assert.deepEqual(h.sim.sent(CH).map((m) => m.text), ["delivered reset-after", "delivered 500-after", "delivered stall-after", "a"]);
  assert.deepEqual((await echoes(inbox, 4)).map((m) => m.text), h.sim.sent(CH).map((m) => m.text));
  assertCleanRun(h);
});

test("group send faults: 500 before → retry, nothing sent; 500-after → unknown, sent once, and the reply counts against the window (next msg_seq)", T, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ groups: [GRP] });
  h.sim.sayInGroup(GROUP_OPENID, "M1", "open");
  await others(inbox, 1);
  h.sim.failNextSend("500");
  await sendError(adapter.send(GRP, "a"), "retry");
  assert.deepEqual(h.sim.sent(GRP), []);
  h.sim.failNextSend("500-after");
  await sendError(adapter.send(GRP, "b"), "unknown");
  h.sim.failNextSend("reset-after");
  await sendError(adapter.send(GRP, "c"), "unknown");
  await adapter.send(GRP, "a");
  assert.deepEqual(h.sim.sent(GRP).map((m) => [m.text, m.msgSeq]), [["b", 2], ["c", 3], ["a", 4]]);
  assert.equal(adapter.evidence.echo, false, "groups echo nothing");
  assertCleanRun(h);
});

test("group: resending an unknown send reuses its msg_id + msg_seq, so the server's 40054005 proves it arrived (no duplicate) and a success proves it had not", T, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ groups: [GRP] });
  h.sim.sayInGroup(GROUP_OPENID, "M1", "open");
  await others(inbox, 1);
  for (const fault of ["500-after", "reset-after", "stall-after"] as const) {
    h.sim.failNextSend(fault);
    await sendError(adapter.send(GRP, `delivered ${fault}`), "unknown");
    assert.deepEqual(await adapter.send(GRP, `delivered ${fault}`), { id: "" }, "confirmed by the server's dedupe");
  }
  for (const fault of ["reset", "stall"] as const) {
    h.sim.failNextSend(fault);
    await sendError(adapter.send(GRP, `lost ${fault}`), "unknown");
    const { id } = await adapter.send(GRP, `lost ${fault}`);
    assert.equal(id, h.sim.sent(GRP).at(-1)!.id);
  }
  assert.deepEqual(h.sim.sent(GRP).map((m) => [m.text, m.msgSeq]), [
    ["delivered 500-after", 1],
    ["delivered reset-after", 2],
    ["delivered stall-after", 3],
    ["lost reset", 4],
    ["lost stall", 5],
  ]);
  assert.ok(h.logs.some((l) => l.includes("proved delivered")));
  assertCleanRun(h);
});

test("never deliverable → fatal: unconfigured or malformed group, too long, empty; refused before any request", T, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ groups: [CH, "chan:1", "group:"] });
  h.sim.sayInChannel("1001", alice, "open");
  await others(inbox, 1);
  await sendError(adapter.send("channel:9999", "x"), "fatal");
  assert.match((await sendError(adapter.send("chan:1", "x"), "fatal")).message, /channel:<channel_id>/);
  await sendError(adapter.send("group:", "x"), "fatal");
  await sendError(adapter.send(CH, "x".repeat(2001)), "fatal");
  assert.equal(h.sim.state.counters.sends, 0);
  const empty = await sendError(adapter.send(CH, "   "), "fatal");
  assert.match(empty.message, /50006/);
  assertCleanRun(h);
});
