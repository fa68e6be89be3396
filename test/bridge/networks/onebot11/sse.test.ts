import { test } from "node:test";
import assert from "node:assert/strict";
import { assertCleanRun, GROUP, harness, waitForStatus } from "./harness.ts";

test("NapCat SSE: array-format events in order; heartbeats ignored, own messages marked own; a malformed event skipped; the stream reopened when it ends", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { flavor: "napcat", echoOwn: true });
  const { adapter, inbox } = await h.run({ events: "sse" });
  await h.sim.waitForSseStreams(1);
  h.sim.heartbeat();
  h.sim.inject({ group: GROUP, sender: { nickname: "alice", card: "Alice" }, message: [{ type: "text", data: { text: "one" } }] });
  await adapter.send(String(GROUP), "mine");
  h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "two" });
  assert.deepEqual((await inbox.waitFor(3)).map((m) => `${m.own ? "own " : ""}${m.senderName}: ${m.text}`), ["Alice: one", "own bridge-bot: mine", "bob: two"]);

  h.sim.failNext("_events", "malformed");
  h.sim.endSseStreams();
  await h.sim.waitForSseStreams(2);
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "after reconnect" });
  assert.equal((await inbox.waitFor(4))[3]!.text, "after reconnect");
  // A message said now comes on the new stream, after its malformed first event was read.
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "on the stream" });
  assert.equal((await inbox.waitFor(5))[4]!.text, "on the stream");
  assert.equal(adapter.status().state, "online");
  assert.ok(h.logs.some((l) => l.includes("malformed SSE event skipped")));
  assert.ok(h.logs.some((l) => l.includes("catching up from history")));
  assertCleanRun(h);
});

test("SSE: what was said while the stream was closed is caught up from history once, before what the new stream brings", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { flavor: "napcat" });
  const { inbox } = await h.run({ events: "sse" });
  await h.sim.waitForSseStreams(1);
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "one" });
  await inbox.waitFor(1);
  h.sim.failNext("_events", "503"); // the next stream is refused once: a gap
  h.sim.endSseStreams();
  h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "in the gap" });
  await h.sim.waitForSseStreams(3);
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "live again" });
  assert.deepEqual((await inbox.waitFor(3)).map((m) => m.text), ["one", "in the gap", "live again"]);
  assertCleanRun(h);
});

test("SSE: 403 is auth-failed; 5xx and an empty stream back off and come back", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { flavor: "napcat" });
  h.sim.failNext("_events", "auth");
  const a = h.adapter({ events: "sse" });
  const failed = waitForStatus(a, "auth-failed");
  await a.start(async () => {});
  assert.match((await failed).detail!, /HTTP 403/);
  h.sim.failNext("_events", "503");
  h.sim.failNext("_events", "end");
  await h.sim.waitForSseStreams(4);
  await waitForStatus(a, "online");
  assertCleanRun(h);
});
