import { test } from "node:test";
import assert from "node:assert/strict";
import { assertCleanRun, DEV, DEV_TOPIC, harness, sendError, SMALL } from "./harness.ts";

test("send resolves with the message id; plain text arrives as typed; topics get message_thread_id; @username works", async (t) => {
  const h = await harness(t, {});
  const { adapter } = await h.run({ groups: [DEV, DEV_TOPIC, "@DevGroup"] });
  const text = `<b>bold?</b> &amp; *stars* _under_ [link](x) 你好 😀`;
  const { id } = await adapter.send(DEV, text);
  const [sent] = await h.sim.waitForSent(DEV, 1);
  assert.equal(sent!.text, text);
  assert.equal(String(sent!.messageId), id);
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

test("nothing delivered → retry (429 with its wait, 503, refused connection, not started); ambiguous → unknown, never resent", async (t) => {
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

  for (const [fault, text] of [["500", "b"], ["502", "c"], ["reset-after", "d"], ["malformed", "e"], ["reset-before", "f"]] as const) {
    h.sim.failNextSend(fault);
    assert.equal((await sendError(adapter.send(DEV, text))).kind, "unknown", fault);
  }
  // Each text reached the server at most once: no client-side resend. ("f" was cut before delivery, but the client cannot know.)
  assert.deepEqual(h.sim.sent(DEV).map((m) => m.text), ["a", "b", "c", "d", "e"]);
  assertCleanRun(h);

  await h.sim.close(); // connection refused: nothing left the client
  assert.equal((await sendError(adapter.send(DEV, "g"))).kind, "retry");
});
