import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { HTTPStream } from "../../../../src/index.ts";
import { classifySendTransportError } from "../../../../bridge/networks/onebot12/retcode.ts";
import { GROUP_NOT_FOUND } from "../../../sim/onebot12.ts";
import { assertCleanRun, GROUP, harness, sendError } from "./harness.ts";

test("send_message: one text segment, string group_id, resolves with the server's message_id", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const text = `你好 <a href="x">&amp;</a> [CQ:face,id=1] @all`;
  const { id } = await adapter.send(GROUP, text);
  const [sent] = h.sim.sent(GROUP);
  assert.equal(id, sent!.message_id);
  assert.deepEqual(sent!.message, [{ type: "text", data: { text } }]); // no markup interpreted
  assert.ok(adapter.maxMessageLength > 0);
  assertCleanRun(h);
});

test("refusals that prove nothing was sent are 'retry': 429 and 503 (Retry-After), 33xxx network, 36xxx I Am Tired", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend("429");
  let err = await sendError(adapter.send(GROUP, "a"));
  assert.deepEqual([err.kind, err.retryAfterMs], ["retry", 2_000]);
  h.sim.failNextSend("503");
  assert.equal((await sendError(adapter.send(GROUP, "a"))).kind, "retry");
  h.sim.failNextSend({ retcode: 33001 });
  assert.equal((await sendError(adapter.send(GROUP, "a"))).kind, "retry");
  h.sim.failNextSend({ retcode: 36000 });
  err = await sendError(adapter.send(GROUP, "a"));
  assert.equal(err.kind, "retry");
  assert.ok(err.retryAfterMs! > 0);
  assert.equal(h.sim.sent(GROUP).length, 0);
  await adapter.send(GROUP, "a"); // the relay's retry delivers exactly once
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["a"]);
  assertCleanRun(h);
});

test("answers that may follow a delivery are 'unknown' and never resent: reset, 500, malformed, 2xxxx", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  for (const [fault, text] of [["reset-after", "b"], ["500", "c"], ["malformed", "d"], ["reset-before", "e"]] as const) {
    h.sim.failNextSend(fault);
    assert.equal((await sendError(adapter.send(GROUP, text))).kind, "unknown", fault);
  }
  h.sim.failNextSend({ retcode: 20002 });
  assert.equal((await sendError(adapter.send(GROUP, "f"))).kind, "unknown");
  // Each text reached the server at most once: no client-side resend ("e" was lost before delivery).
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["b", "c", "d"]);
  assertCleanRun(h);
});

test("a send the server never answers, cut off (here by stop), is 'unknown'", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend("stall-after");
  const send = adapter.send(GROUP, "slow");
  await h.sim.waitForSent(GROUP, 1);
  // stop() cancels the hung request: the outcome stays unknown, and nothing is resent.
  const stopping = adapter.stop();
  const err = await sendError(send);
  await stopping;
  assert.equal(err.kind, "unknown");
  assert.equal(h.sim.sent(GROUP).length, 1);
  assertCleanRun(h);
});

test("never deliverable is 'fatal': unconfigured group, unknown group (35xxx), bad param (1xxxx)", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run({ groups: [GROUP, "777"] });
  assert.equal((await sendError(adapter.send("nope", "x"))).kind, "fatal");
  const err = await sendError(adapter.send("777", "x"));
  assert.equal(err.kind, "fatal");
  assert.match(err.message, new RegExp(String(GROUP_NOT_FOUND)));
  h.sim.failNextSend({ retcode: 10003 });
  assert.equal((await sendError(adapter.send(GROUP, "x"))).kind, "fatal");
  assert.equal(h.sim.sent().length, 0);
  assertCleanRun(h);
});

test("before the bot is known a send is 'retry'; so is a connection the server refused", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const idle = h.adapter();
  assert.equal((await sendError(idle.send(GROUP, "x"))).kind, "retry");
  // A port nobody listens on: a real ECONNREFUSED from the HTTP client, nothing delivered.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const stream = new HTTPStream({ retry: { retries: 0 } });
  t.after(() => stream.close());
  const refused = await stream.request({ url: `http://127.0.0.1:${port}/`, method: "POST", json: {} }).catch((e: unknown) => e);
  assert.equal(classifySendTransportError(refused), "retry");
  const reset = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
  assert.equal(classifySendTransportError(reset), "unknown");
  assert.deepEqual(h.sim.violations, []);
});

test("a 10101 (Who Am I) on send is 'retry' and the adapter learns its bot again", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const statusCalls = h.sim.state.requestsOf("get_status").length;
  h.sim.failNextSend({ retcode: 10101 });
  assert.equal((await sendError(adapter.send(GROUP, "x"))).kind, "retry");
  await h.sim.waitForRequests("get_status", statusCalls + 1);
  await adapter.send(GROUP, "x");
  assert.equal(h.sim.sent(GROUP).length, 1);
  assertCleanRun(h);
});
