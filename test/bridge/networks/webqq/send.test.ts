import { test } from "node:test";
import assert from "node:assert/strict";
import { assertCleanRun, harness, sendError } from "./harness.ts";

test("faces, Chinese text and XML/HTML characters arrive intact; content is a JSON string, font last", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const text = `你好 /微笑 <a href="x">&amp;</a> 'q' [face 999]`;
  const { id } = await adapter.send("Dev Group", text);
  const [sent] = await h.sim.waitForSent("Dev Group", 1);
  assert.equal(sent!.text, text);
  assert.equal(String(sent!.msgId), id);
  assert.deepEqual(sent!.content.slice(0, -1), ["你好 ", ["face", 14], ` <a href="x">&amp;</a> 'q' `, ["face", 999]]);
  assert.equal((sent!.content.at(-1) as unknown[])[0], "font");
  assertCleanRun(h);
});

test("msg_id increases; a long text is split under the byte limit and loses nothing", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  await adapter.send("Dev Group", "one");
  const long = "长".repeat(500) + " end";
  await adapter.send("Dev Group", long);
  const sent = await h.sim.waitForSent("Dev Group", 4);
  assert.equal(sent.length, 4);
  assert.equal(sent.slice(1).map((m) => m.text).join(""), long);
  for (const m of sent) assert.ok(Buffer.byteLength(m.text) <= 720);
  for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.msgId > sent[i - 1]!.msgId);
  assertCleanRun(h);
});

test("a frequency error (100003) is 'retry' with a longer spacing; the resend delivers exactly once", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run({ sendInterval: 10 });
  h.sim.failNextSend("frequency");
  const err = await sendError(adapter.send("Dev Group", "once"));
  assert.equal(err.kind, "retry");
  assert.ok(err.retryAfterMs! >= 1_000 && err.retryAfterMs! <= 30_000);
  assert.equal(h.sim.sent("Dev Group").length, 0);
  await adapter.send("Dev Group", "once"); // the relay's retry
  assert.deepEqual(h.sim.sent("Dev Group").map((m) => m.text), ["once"]);
  assertCleanRun(h);
});

test("ambiguous answers are never resent: 1202 counts as delivered, reset/500/unreadable are 'unknown'", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend("1202");
  await adapter.send("Dev Group", "a"); // resolves
  h.sim.failNextSend("reset-after");
  assert.equal((await sendError(adapter.send("Dev Group", "b"))).kind, "unknown");
  h.sim.failNextSend("malformed");
  assert.equal((await sendError(adapter.send("Dev Group", "c"))).kind, "unknown");
  h.sim.failNextSend("500");
  assert.equal((await sendError(adapter.send("Dev Group", "d"))).kind, "unknown");
  // Each text reached the server at most once: no client-side resend.
  assert.deepEqual(h.sim.sent("Dev Group").map((m) => m.text), ["a", "b", "c"]);
  assert.ok(h.logs.some((l) => l.includes("counted as delivered")));
  assertCleanRun(h);
});

test("a bad-request answer (100001) is fatal and does not hold the group's queue; another refusal is 'retry'", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend("100001");
  const bad = await sendError(adapter.send("Dev Group", "refused"), "fatal");
  assert.match(bad.message, /100001/);
  h.sim.failNextSend({ retcode: 100006 });
  await sendError(adapter.send("Dev Group", "busy"), "retry");
  await adapter.send("Dev Group", "next"); // the queue moves on
  assert.deepEqual(h.sim.sent("Dev Group").map((m) => m.text), ["next"]);
  assertCleanRun(h);
});

test("unconfigured groups are fatal; sending before login is 'retry'", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const idle = h.adapter();
  assert.equal((await sendError(idle.send("Dev Group", "x"))).kind, "retry");
  const { adapter } = await h.run();
  assert.equal((await sendError(adapter.send("Nope", "x"))).kind, "fatal");
  const missing = h.adapter({ groups: ["Dev Group", "Gone"] });
  await missing.start(async () => {});
  await h.sim.state.waitFor(() => (missing.status().ok ? true : undefined), ["poll"]);
  assert.equal((await sendError(missing.send("Gone", "x"))).kind, "fatal");
  assert.ok(h.logs.some((l) => l.includes("configured groups not found")));
});
