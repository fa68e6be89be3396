// The outbox worker's wait after a failed send (target-worker.ts retryWaitMs): one backoff with
// src/, a delay the target names honoured, and a short cap after maybe-delivered sends so that a
// few transient faults on one item cannot hold its queue for a minute.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffCap } from "../../../src/index.ts";
import { retryWaitMs, UNCONFIRMED_BACKOFF_MAX_MS } from "../../../bridge/relay/target-worker.ts";
import { ROOM, startHarness } from "./harness.ts";

const backoff = { min: 1000, max: 60_000 };
const top = () => 0.999_999; // the ceiling of each draw (full jitter: [0, cap))

test("certainly-not-delivered failures back off as src/ backoff does: doubling up to the max", () => {
  for (let n = 1; n <= 10; n++) {
    const ms = retryWaitMs(n, backoff, { maybeDelivered: false }, top);
    assert.ok(ms < backoffCap(n, backoff) && ms >= backoffCap(n, backoff) - 1, `failure ${n}: ${ms}`);
  }
  assert.equal(retryWaitMs(9, backoff, { maybeDelivered: false }, () => 0), 0, "full jitter");
});

test("maybe-delivered failures wait at most UNCONFIRMED_BACKOFF_MAX_MS, however many in a row", () => {
  for (let n = 1; n <= 20; n++) assert.ok(retryWaitMs(n, backoff, { maybeDelivered: true }, top) < UNCONFIRMED_BACKOFF_MAX_MS);
  assert.ok(retryWaitMs(20, backoff, { maybeDelivered: true }, top) >= UNCONFIRMED_BACKOFF_MAX_MS - 1);
  // A configured max below the cap still wins.
  assert.ok(retryWaitMs(20, { min: 1, max: 10 }, { maybeDelivered: true }, top) < 10);
});

test("a delay the target named (retryAfterMs) is honoured as given, above the cap too", () => {
  assert.equal(retryWaitMs(1, backoff, { maybeDelivered: false, afterMs: 30_000 }), 30_000);
  assert.equal(retryWaitMs(7, backoff, { maybeDelivered: true, afterMs: 12_345 }), 12_345);
  assert.equal(retryWaitMs(7, backoff, { maybeDelivered: false, afterMs: 0 }), 0);
});

test("a resend of an unconfirmable send that fails before leaving stays unconfirmed: settled by evidence again, once in the group", async (t) => {
  // First send: maybe delivered, no echo (it was not). Its resend never leaves (retry): the first
  // send might still have landed, so the item is not plainly pending again; it waits for its echo
  // once more and is resent (counted again), and the group sees it once.
  const h = await startHarness(t, { tgEvidence: { echo: true }, relay: { echoWindowMs: 20, backoff: { min: 1, max: 4 } } });
  h.tg.failNext({ kind: "unknown" }, { kind: "retry" });
  h.muc.post(ROOM, "carol", "maybe");
  h.muc.post(ROOM, "carol", "sentinel");
  assert.deepEqual((await h.tg.waitForSent(2)).map((m) => m.text), ["<carol> maybe", "<carol> sentinel"]);
  assert.equal(h.tg.attempts.length, 4);
  assert.equal(h.metrics.resentBy.get("tg"), 2, "both resends are counted: neither was made on evidence");
});
