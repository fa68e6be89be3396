// GroupTarget's verdict on a maybe-delivered send of an echo network: the echo window, and the
// fence that ends it early (NetworkAdapter.echoesThrough) only when the server was done with the
// send when it failed. A timed-out send may still be acted on by the server: it waits the window.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ECHO_FENCE_GAP_MS, GroupTarget } from "../../../bridge/relay/group-target.ts";
import type { OutboxItem } from "../../../bridge/store/outbox.ts";
import { MemoryNetwork, type SendFault } from "../../helpers/memory-network.ts";

const WINDOW = 3_600_000; // never waited out here: a verdict other than "wait" comes from the fence

function item(id: number): OutboxItem {
  const now = Date.now();
  return {
    id, sourceKey: `src-${id}`, bridge: "room@muc", target: "net:tg:G1", originId: `o-${id}`, text: `text ${id}`, sender: "carol",
    state: "pending", attempts: 1, attemptedAt: now, failingSince: now, resultId: null, error: null, createdAt: now,
    kind: "message", ref: null, replyTo: null, fallback: null, media: null,
  };
}

async function failedSend(evidence: { echo?: boolean; history?: boolean; fence?: boolean }, fault: SendFault) {
  const net = new MemoryNetwork({ id: "tg", groups: ["G1"], evidence });
  await net.start(async () => undefined);
  const target = new GroupTarget(net, "G1", { echoWindowMs: WINDOW });
  const it = item(1);
  net.failNext(fault);
  const outcome = await target.send(it);
  assert.equal(outcome.kind, "unconfirmed");
  return { net, target, it, failedAt: performance.now() };
}

test("server done, the network's echoes complete past the failure and no echo: not delivered, sent again at once (not counted as unconfirmed)", async () => {
  const { net, target, it, failedAt } = await failedSend({ echo: true, fence: true }, { kind: "unknown", serverDone: true });
  net.echoesComplete = failedAt - 1; // a poll sent before the failure proves nothing
  const before = await target.check(it);
  assert.equal(before.kind, "wait");
  assert.ok(before.kind === "wait" && before.ms !== undefined && before.ms < WINDOW, "looks again soon: the fence may pass any moment");
  net.echoesComplete = failedAt + ECHO_FENCE_GAP_MS + 1;
  assert.deepEqual(await target.check(it), { kind: "send" });
});

test("server done, fence passed, and a history: the history has the last word (found: delivered)", async () => {
  const { net, target, it, failedAt } = await failedSend({ echo: true, history: true, fence: true }, { kind: "unknown", serverDone: true, delivered: true });
  net.loseEchoes(0);
  net.echoesComplete = failedAt + ECHO_FENCE_GAP_MS + 1;
  const v = await target.check(it);
  assert.equal(v.kind, "delivered");
  assert.equal(net.lookups.length, 1);
});

test("a timed-out send (the server may still act on it) waits the whole echo window, whatever the fence says", async () => {
  const { net, target, it } = await failedSend({ echo: true, fence: true }, { kind: "unknown" });
  net.echoesComplete = performance.now() + 60_000;
  const v = await target.check(it);
  assert.equal(v.kind, "wait");
  assert.ok(v.kind === "wait" && v.ms !== undefined && v.ms > WINDOW / 2, "the window, not a short look");
});

test("a network without echoesThrough waits the whole echo window", async () => {
  const { target, it } = await failedSend({ echo: true }, { kind: "unknown", serverDone: true });
  const v = await target.check(it);
  assert.ok(v.kind === "wait" && v.ms !== undefined && v.ms > WINDOW / 2);
});

test("after a restart (no failure seen by this process) the window is waited: the fence needs the failure's time", async () => {
  const net = new MemoryNetwork({ id: "tg", groups: ["G1"], evidence: { echo: true, fence: true } });
  await net.start(async () => undefined);
  net.echoesComplete = performance.now() + 60_000;
  const target = new GroupTarget(net, "G1", { echoWindowMs: WINDOW });
  const v = await target.check(item(7));
  assert.ok(v.kind === "wait" && v.ms !== undefined && v.ms > WINDOW / 2);
});
