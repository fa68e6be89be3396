import { test } from "node:test";
import assert from "node:assert/strict";
import { assertCleanRun, GROUP, harness } from "./harness.ts";

test("login learns our id; several events in one answer arrive in order with names, faces, mentions and images", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  assert.equal(adapter.status().ok, true);
  const bob = h.sim.state.memberByName(GROUP, { nickname: "bob" });
  h.sim.heartbeat();
  h.sim.inject({ group: GROUP, sender: { nickname: "alice", card: "Alice" }, message: [{ type: "text", data: { text: "[hi] & 你好 " } }, { type: "face", data: { id: "178" } }] });
  h.sim.inject({ group: GROUP, sender: { nickname: "carol" }, message: [{ type: "at", data: { qq: String(bob.userId) } }, { type: "text", data: { text: " look" } }, { type: "image", data: { file: "a.jpg", url: "http://img.example/a.jpg" } }] });
  h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: [{ type: "reply", data: { id: "-1289" } }, { type: "at", data: { qq: "all" } }, { type: "text", data: { text: " third" } }] });
  const msgs = await inbox.waitFor(3);
  assert.deepEqual(
    msgs.map((m) => [m.senderName, m.text, m.attachments ?? [], m.replyTo ?? null]),
    [
      ["Alice", "[hi] & 你好 [face 178]", [], null],
      ["carol", "@bob look", ["http://img.example/a.jpg"], null],
      ["bob", "@all third", [], `${GROUP}:-1289`],
    ],
  );
  assert.equal(msgs[0]!.id, `${GROUP}:-1289`);
  assert.ok(msgs.every((m) => m.group === String(GROUP) && m.time instanceof Date));
  assertCleanRun(h);
});
