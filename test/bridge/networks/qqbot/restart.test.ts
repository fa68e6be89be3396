// What a restart keeps (state_dir/qqbot-<id>.windows.json): the reply windows an @-mention opened,
// the proactive quota spent today, and a group send in flight, written before its request left,
// so that its resend after the restart reuses msg_id + msg_seq and cannot arrive twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { windowsPath } from "../../../../bridge/networks/qqbot/window-store.ts";
import { alice, assertCleanRun, CH2, GROUP_OPENID, GRP, harness, others, sendError, startOnline } from "./harness.ts";

const T = { timeout: 30_000 };

test("a group send in flight is on disk before its request leaves; after a restart its resend is confirmed by 40054005, not sent twice", T, async (t) => {
  const h = await harness(t);
  const first = h.adapter({ groups: [GRP] });
  const { inbox } = await startOnline(first);
  const msgId = h.sim.sayInGroup(GROUP_OPENID, "M1", "open");
  await others(inbox, 1);
  h.sim.failNextSend("stall-after"); // delivered, the answer never comes
  const pending = sendError(first.send(GRP, "in flight"), "unknown");
  await h.sim.waitForSent(GRP, 1);
  const onDisk = JSON.parse(await readFile(windowsPath(h.stateDir, "qb"), "utf8")) as { inflight: Record<string, unknown> };
  assert.deepEqual(onDisk.inflight[GRP], { text: "in flight", msgId, msgSeq: 1 });
  await first.stop(); // the process is gone (a kill -9 leaves the same file)
  await pending;

  const second = h.adapter({ groups: [GRP] });
  await startOnline(second);
  assert.equal(second.ready(GRP), true, "the window came back from disk");
  assert.deepEqual(await second.send(GRP, "in flight"), { id: "" });
  await second.send(GRP, "next");
  assert.deepEqual(h.sim.sent(GRP).map((m) => [m.text, m.msgSeq]), [["in flight", 1], ["next", 2]]);
  assertCleanRun(h);
});

test("the proactive quota spent today survives a restart", T, async (t) => {
  const h = await harness(t, { quotaPerDay: 1 });
  const first = h.adapter({ groups: [CH2], quotaPerDay: 1 });
  await startOnline(first);
  await first.send(CH2, "the day's one");
  await first.stop();
  const second = h.adapter({ groups: [CH2], quotaPerDay: 1 });
  const { inbox } = await startOnline(second);
  assert.equal(second.ready(CH2), false);
  await sendError(second.send(CH2, "one more"), "retry");
  assert.equal(h.sim.state.counters.sends, 1, "not even asked");
  h.sim.sayInChannel("1002", alice, "a window");
  await others(inbox, 1);
  await second.send(CH2, "one more");
  assert.deepEqual(h.sim.sent(CH2).map((m) => m.text), ["the day's one", "one more"]);
  assertCleanRun(h);
});
