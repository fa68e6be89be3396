import { test } from "node:test";
import assert from "node:assert/strict";
import { assertCleanRun, DEV, DEV_TOPIC, harness, sendError, SMALL, waitForStatus } from "./harness.ts";

test("send resolves with the message id; plain text arrives as typed; topics get message_thread_id; @username works", async (t) => {
  const h = await harness(t, {});
  const { adapter } = await h.run({ groups: [DEV, DEV_TOPIC, "@DevGroup"] });
  const text = `<b>bold?</b> &amp; *stars* _under_ [link](x) 你好 😀`;
  const { id } = await adapter.send(DEV, text);
  const [sent] = await h.sim.waitForSent(DEV, 1);
  assert.equal(sent!.text, text);
  assert.equal(id, `${DEV}:${sent!.messageId}`); // the form of an inbound message's id
  assert.equal(sent!.params.parse_mode, undefined);
  assert.equal(sent!.threadId, undefined);
  await adapter.send(DEV_TOPIC, "to topic 3");
  assert.deepEqual(h.sim.sent(DEV_TOPIC).map((m) => [m.threadId, m.text]), [[3, "to topic 3"]]);
  await adapter.send("@DevGroup", "by username");
  assert.equal(h.sim.sent(DEV).length, 3);
  assertCleanRun(h);
});

test("never deliverable → fatal: unconfigured or malformed group, unknown chat, unknown topic, too long, kicked, upgraded", async (t) => {
  const h = await harness(t, {
    chats: [
      { id: -1001234567890, title: "Dev Group", type: "supergroup", forum: true, topics: [3] },
      { id: -4242, title: "Small Group", type: "group", migratedTo: -1005555 },
      { id: -1007777, title: "Kicked", type: "supergroup", kicked: true },
    ],
  });
  const { adapter } = await h.run({ groups: [DEV, `${DEV}/99`, SMALL, "-1007777", "-1000000404", "not-a-chat"] });
  const kind = async (group: string, text = "x") => {
    const e = await sendError(adapter.send(group, text));
    return [e.kind, e.message];
  };
  assert.deepEqual(await kind("-1"), ["fatal", 'telegram: "-1" is not a configured group']);
  assert.equal((await kind("not-a-chat"))[0], "fatal");
  assert.match((await kind("not-a-chat"))[1]!, /is not a chat id/);
  assert.deepEqual(await kind("-1000000404"), ["fatal", "send to -1000000404: Bad Request: chat not found"]);
  assert.deepEqual(await kind(`${DEV}/99`), ["fatal", `send to ${DEV}/99: Bad Request: message thread not found`]);
  assert.deepEqual(await kind("-1007777"), ["fatal", "send to -1007777: Forbidden: bot was kicked from the supergroup chat"]);
  assert.deepEqual(await kind(SMALL), ["fatal", `send to ${SMALL}: the group became a supergroup; configure chat id -1005555 instead`]);
  const before = h.sim.state.counters.sendMessage;
  assert.equal((await kind(DEV, "x".repeat(4097)))[0], "fatal");
  assert.equal(h.sim.state.counters.sendMessage, before); // refused before any request
  await adapter.send(DEV, "y".repeat(4096)); // the limit itself is fine
  assert.ok(h.logs.some((l) => l.includes("unusable group id")));
  assertCleanRun(h);
});

test("nothing delivered → retry (429 with its wait, 503, refused connection, not started)", async (t) => {
  const h = await harness(t);
  const idle = h.adapter();
  assert.equal((await sendError(idle.send(DEV, "x"))).kind, "retry");
  const { adapter } = await h.run();

  h.sim.failNextSend({ retryAfter: 3 });
  const limited = await sendError(adapter.send(DEV, "a"));
  assert.deepEqual([limited.kind, limited.retryAfterMs], ["retry", 3_000]);
  h.sim.failNextSend("503");
  assert.equal((await sendError(adapter.send(DEV, "a"))).kind, "retry");
  assert.deepEqual(h.sim.sent(DEV), []);
  await adapter.send(DEV, "a"); // the relay's retry delivers it once
  assert.deepEqual(h.sim.sent(DEV).map((m) => m.text), ["a"]);
  assertCleanRun(h);

  // Connection refused: nothing left the client. (Once the poller saw the server gone, so that no
  // stale keep-alive socket is left whose write may race the server's close: that is "unknown".)
  const offline = waitForStatus(adapter, "offline", true);
  await h.sim.close();
  await offline;
  assert.equal((await sendError(adapter.send(DEV, "g"))).kind, "retry");
});

// Every send fault in both variants. The client sees the same bytes for a fault before the
// server acted and for its twin after it (the request was fully written either way), so both
// are "unknown": Telegram gives bots no echo and no history, so the relay resends an unknown
// send (at least once, counted). What the sim recorded shows which variant delivered.
for (const [before, after] of [["reset", "reset-after"], ["500", "500-after"], ["stall", "stall-after"]] as const) {
  test(`send fault ${before} / ${after}: both 'unknown'; only ${after} delivered; a resend of each then succeeds`, async (t) => {
    const h = await harness(t);
    const { adapter } = await h.run({ sendTimeoutMs: 300 });
    h.sim.failNextSend(before);
    assert.equal((await sendError(adapter.send(DEV, "before"))).kind, "unknown", before);
    assert.deepEqual(h.sim.sent(DEV), [], "the server did nothing");
    h.sim.failNextSend(after);
    assert.equal((await sendError(adapter.send(DEV, "after"))).kind, "unknown", after);
    assert.deepEqual(h.sim.sent(DEV).map((m) => m.text), ["after"]);
    // The relay's resends: "before" arrives once, "after" at least once (here twice: the cost of no evidence).
    await adapter.send(DEV, "before");
    const { id } = await adapter.send(DEV, "after");
    const sent = h.sim.sent(DEV);
    assert.deepEqual(sent.map((m) => m.text), ["after", "before", "after"]);
    assert.equal(id, `${DEV}:${sent[2]!.messageId}`);
    assertCleanRun(h);
  });
}

test("other answers that may follow a delivery are 'unknown': 502 gateway page, malformed body; nothing is resent by the adapter", async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  for (const [fault, text] of [["502", "c"], ["malformed", "e"]] as const) {
    h.sim.failNextSend(fault);
    assert.equal((await sendError(adapter.send(DEV, text))).kind, "unknown", fault);
  }
  assert.deepEqual(h.sim.sent(DEV).map((m) => m.text), ["c", "e"]);
  assertCleanRun(h);
});

test("a send the server holds for 1.5 s (a flood-wait queue) is not a failure", async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.state.sendDelayMs = 1_500;
  const { id } = await adapter.send(DEV, "held");
  assert.equal(id, `${DEV}:${h.sim.sent(DEV)[0]!.messageId}`);
  assertCleanRun(h);
});

test("a send cut by stop() after it left is 'unknown', not 'retry'", async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  h.sim.failNextSend("stall-after");
  const send = adapter.send(DEV, "slow");
  await h.sim.waitForSent(DEV, 1);
  const stopping = adapter.stop();
  assert.equal((await sendError(send)).kind, "unknown");
  await stopping;
  assertCleanRun(h);
});
