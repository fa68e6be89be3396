import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { HTTPStream } from "../../../../src/index.ts";
import { classifySendTransportError } from "../../../../bridge/networks/onebot12/retcode.ts";
import { ECHO_FENCE_GAP_MS } from "../../../../bridge/relay/group-target.ts";
import { GROUP_NOT_FOUND } from "../../../sim/onebot12.ts";
import { assertCleanRun, GROUP, harness, member, sendError } from "./harness.ts";

test("send_message: one text segment, string group_id, resolves with the server's message_id", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const text = `你好 <a href="x">&amp;</a> [CQ:face,id=1] @all`;
  const { id } = await adapter.send(GROUP, text);
  const [sent] = h.sim.sent(GROUP);
  assert.equal(id, `${GROUP}:${sent!.message_id}`); // the form of the inbound id of its own echo
  assert.deepEqual(sent!.message, [{ type: "text", data: { text } }]); // no markup interpreted
  assert.ok(adapter.maxMessageLength > 0);
  assertCleanRun(h);
});

test("refusals that prove nothing was sent are 'retry': 429 and 503 (Retry-After), 36000 I Am Tired", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend("429");
  let err = await sendError(adapter.send(GROUP, "a"));
  assert.deepEqual([err.kind, err.retryAfterMs], ["retry", 2_000]);
  h.sim.failNextSend("503");
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

// Every send fault in both variants. The client sees the same bytes for a fault before the
// action ran and for its twin after it (the request was fully written either way), so both are
// "unknown"; what tells them apart is the evidence: after the action ran, the own echo arrives
// at the sink with own: true and the id a successful send would have answered.
for (const [before, after] of [["reset", "reset-after"], ["500", "500-after"], ["stall", "stall-after"]] as const) {
  test(`send fault ${before} / ${after}: both 'unknown'; only ${after} delivered, and its own echo arrives with the send's id`, { timeout: 10_000 }, async (t) => {
    const h = await harness(t);
    const { adapter, inbox } = await h.run({ sendTimeoutMs: 300 });
    // A reset or a 500 ends the server's part (its echo exists if it delivered); a stall does not.
    const done = before !== "stall";
    h.sim.failNextSend(before);
    const first = await sendError(adapter.send(GROUP, `${before} text`));
    assert.deepEqual([first.kind, first.serverDone ?? false], ["unknown", done], before);
    assert.deepEqual(h.sim.sent(GROUP), [], "the server did nothing");

    h.sim.failNextSend(after);
    const second = await sendError(adapter.send(GROUP, `${after} text`));
    assert.deepEqual([second.kind, second.serverDone ?? false], ["unknown", done], after);
    const [sent] = h.sim.sent(GROUP);
    assert.equal(sent!.text, `${after} text`);
    const [echo] = await inbox.waitFor(1);
    assert.deepEqual([echo!.own, echo!.id, echo!.text, echo!.senderId], [true, `${GROUP}:${sent!.message_id}`, `${after} text`, "10001"]);

    // Sentinel: a member's message after both; then nothing else came (no echo of the first).
    h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "sentinel" });
    const msgs = await inbox.waitFor(2);
    assert.deepEqual(msgs.map((m) => [m.text, m.own ?? false]), [[`${after} text`, true], ["sentinel", false]]);
    assertCleanRun(h);
  });
}

test("echoesThrough: once a poll sent after a failed send has been answered and delivered, it is past the failure", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  h.sim.failNextSend("reset");
  await sendError(adapter.send(GROUP, "lost"));
  const failedAt = performance.now();
  // The poll in flight at the failure was sent before it; the one after its answer was not.
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "one" });
  await inbox.waitFor(1);
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "two" });
  await inbox.waitFor(2);
  // The next poll goes out only once the answer with "two" is done with (and its fence set).
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "three" });
  await inbox.waitFor(3);
  assert.ok((adapter.echoesThrough?.() ?? -Infinity) >= failedAt);
  assertCleanRun(h);
});

test("a quiet group: after a send, polls hold only briefly, so the fence passes a failed send soon even with long holds configured", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ pollTimeoutSeconds: 30 });
  // A poll already holding when the first send after a quiet spell fails holds on (its fence
  // comes after its hold, or the echo window ends first); from a send on, polls hold briefly.
  await adapter.send(GROUP, "first");
  await inbox.waitFor(1); // its echo: the poll that was holding came back with it
  h.sim.failNextSend("reset");
  await sendError(adapter.send(GROUP, "lost"));
  const fence = performance.now() + ECHO_FENCE_GAP_MS;
  // Nothing else happens in the group: only polls that hold briefly can bring the fence past it
  // before the test's timeout (a 30 s hold would not).
  await h.sim.state.waitFor(() => ((adapter.echoesThrough?.() ?? -Infinity) >= fence ? true : undefined));
  const holds = h.sim.state.requestsOf("get_latest_events").map((r) => r.params.timeout);
  assert.equal(holds[0], 30, "a long hold before any send");
  assert.equal(holds.at(-1), 1);
  assertCleanRun(h);
});

test("other answers that may follow a delivery are 'unknown': malformed body, 2xxxx handler error, 33xxx network error", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend("malformed");
  assert.equal((await sendError(adapter.send(GROUP, "d"))).kind, "unknown");
  h.sim.failNextSend({ retcode: 20002 });
  assert.equal((await sendError(adapter.send(GROUP, "f"))).kind, "unknown");
  h.sim.failNextSend({ retcode: 33001 });
  assert.equal((await sendError(adapter.send(GROUP, "g"))).kind, "unknown");
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["d"]); // no client-side resend
  assertCleanRun(h);
});

test("a send held by the server's queue for 1.5 s is not a failure", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.state.sendDelayMs = 1_500;
  const { id } = await adapter.send(GROUP, "queued");
  assert.equal(id, `${GROUP}:${h.sim.sent(GROUP)[0]!.message_id}`);
  assertCleanRun(h);
});

test("a send the server never answers, cut off by stop, is 'unknown'", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend("stall-after");
  const send = adapter.send(GROUP, "slow");
  await h.sim.waitForSent(GROUP, 1);
  // stop() cancels the hung request: the outcome stays unknown (the adapter never resends; the relay settles it).
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
