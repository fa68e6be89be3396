import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { HTTPStream } from "../../../../src/index.ts";
import { WEBQQ_MAX_MESSAGE_LENGTH } from "../../../../bridge/networks/webqq/index.ts";
import { neverSent } from "../../../../bridge/networks/shared/request-sent.ts";
import type { SendFault } from "../../../sim/webqq.ts";
import { assertCleanRun, harness, sendError, waitForStatus, type Adapter, type Harness } from "./harness.ts";

test("faces, Chinese text and XML/HTML characters arrive intact; content is a JSON string, font last; no id is invented", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  assert.deepEqual(adapter.evidence, { echo: false, history: false });
  const text = `你好 /微笑 <a href="x">&amp;</a> 'q' [face 999]`;
  const { id } = await adapter.send("Dev Group", text);
  assert.equal(id, "", "send_qun_msg2 gives no message id");
  const [sent] = await h.sim.waitForSent("Dev Group", 1);
  assert.equal(sent!.text, text);
  assert.deepEqual(sent!.content.slice(0, -1), ["你好 ", ["face", 14], ` <a href="x">&amp;</a> 'q' `, ["face", 999]]);
  assert.equal((sent!.content.at(-1) as unknown[])[0], "font");
  assertCleanRun(h);
});

test("one send is one wire message: any text of maxMessageLength units fits one send_qun_msg2; msg_id increases", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  assert.equal(adapter.maxMessageLength, WEBQQ_MAX_MESSAGE_LENGTH);
  const worst = ["长".repeat(WEBQQ_MAX_MESSAGE_LENGTH), "😀".repeat(WEBQQ_MAX_MESSAGE_LENGTH / 2), "a".repeat(WEBQQ_MAX_MESSAGE_LENGTH)];
  for (const text of worst) await adapter.send("Dev Group", text);
  const sent = await h.sim.waitForSent("Dev Group", 3);
  assert.deepEqual(sent.map((m) => m.text), worst);
  for (const m of sent) assert.ok(Buffer.byteLength(m.text) <= 720);
  for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.msgId > sent[i - 1]!.msgId);
  // Longer than one send takes (a caller that ignored maxMessageLength): refused whole, never split.
  await sendError(adapter.send("Dev Group", "长".repeat(241)), "fatal");
  assert.equal(h.sim.sent("Dev Group").length, 3);
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

/** The relay's resend of an "unknown" item (WebQQ has no evidence): the text then arrived at least once. */
async function resendAndCount(h: Harness, adapter: Adapter, text: string): Promise<number> {
  await adapter.send("Dev Group", text);
  return h.sim.sent("Dev Group").filter((m) => m.text === text).length;
}

for (const [fault, delivered] of [
  ["reset", false],
  ["500", false],
  ["stall", false],
  ["reset-after", true],
  ["500-after", true],
  ["stall-after", true],
  ["1202", true],
  ["malformed", true],
] as [SendFault & string, boolean][]) {
  test(`send fault ${fault} (${delivered ? "delivered, answer lost" : "not delivered"}): 'unknown'; the resend delivers it at least once, at most twice`, { timeout: 20_000 }, async (t) => {
    const h = await harness(t);
    const { adapter } = await h.run({ sendTimeout: 400 });
    h.sim.failNextSend(fault);
    const err = await sendError(adapter.send("Dev Group", fault), "unknown");
    assert.ok(err.message.includes("Dev Group"));
    assert.equal(h.sim.sent("Dev Group").length, delivered ? 1 : 0);
    const copies = await resendAndCount(h, adapter, String(fault));
    assert.equal(copies, delivered ? 2 : 1);
    assert.equal(adapter.status().state, "online");
    assertCleanRun(h);
  });
}

test("a send that never left is 'retry': requestSent === false when HTTPStream says so, else a connect failure", { timeout: 20_000 }, async () => {
  assert.equal(neverSent(Object.assign(new Error("x"), { requestSent: false })), true);
  assert.equal(neverSent(Object.assign(new Error("x"), { requestSent: true, code: "ECONNREFUSED" })), false);
  assert.equal(neverSent(new Error("wrapped", { cause: Object.assign(new Error("x"), { requestSent: false }) })), true);
  assert.equal(neverSent(Object.assign(new Error("reset"), { code: "ECONNRESET" })), false);
  assert.equal(neverSent(new Error("no code")), false);
  // A real refused connection on loopback: nothing listens on the port any more.
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const stream = new HTTPStream({ retry: { retries: 0 } });
  const err = await stream.request({ method: "POST", url: `http://127.0.0.1:${port}/channel/send_qun_msg2`, form: { r: "{}" } }).then(
    () => assert.fail("answered"),
    (e: unknown) => e,
  );
  await stream.close();
  assert.equal(neverSent(err), true, String(err));
});

test("100100 counts as delivered (Mojo); another refusal (100006) is 'retry' and the queue moves on", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend({ retcode: 100100 });
  await adapter.send("Dev Group", "a"); // resolves
  h.sim.failNextSend({ retcode: 100006 });
  await sendError(adapter.send("Dev Group", "b"), "retry");
  await adapter.send("Dev Group", "b");
  assert.deepEqual(h.sim.sent("Dev Group").map((m) => m.text), ["a", "b"]);
  assertCleanRun(h);
});

test("100001 on a send (bad parameters or cookies) recovers the session and is 'retry'; the resend goes out once on the new session", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const logins = h.sim.state.counters.login2;
  const back = waitForStatus(adapter, "online", true);
  h.sim.failNextSend("100001");
  const err = await sendError(adapter.send("Dev Group", "after recovery"), "retry");
  assert.match(err.message, /100001/);
  await back;
  assert.equal(h.sim.state.counters.login2, logins + 1, "the session was relinked");
  await adapter.send("Dev Group", "after recovery");
  assert.deepEqual(h.sim.sent("Dev Group").map((m) => m.text), ["after recovery"]);
  assertCleanRun(h);
});

test("the same text refused with 100001 by two sessions is fatal (never deliverable), and does not hold the queue", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const back = waitForStatus(adapter, "online", true);
  h.sim.failNextSend("100001");
  await sendError(adapter.send("Dev Group", "poison"), "retry");
  await back;
  h.sim.failNextSend("100001");
  const err = await sendError(adapter.send("Dev Group", "poison"), "fatal");
  assert.match(err.message, /two sessions/);
  await adapter.send("Dev Group", "next");
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
