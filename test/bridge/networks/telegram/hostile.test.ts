// A server that serves bodies of the wrong shape (issue 9): one malformed update never wedges the
// network, and an unusable answer served again and again is backed off and logged boundedly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { alice, assertCleanRun, DEV, harness, waitForStatus } from "./harness.ts";

/** The log lines that contain `text`. */
const lines = (logs: string[], text: string) => logs.filter((l) => l.includes(text)).length;

test("an update of the wrong shape (poll.question is an object) is rejected once with its id, confirmed, and the next one arrives", async (t) => {
  const h = await harness(t);
  const reasons: string[] = [];
  const { adapter, inbox } = await h.run({ onEventRejected: (r) => reasons.push(r) });
  await h.sim.waitForPolls(1);
  const chat = { id: -1001234567890, type: "supergroup", title: "Dev Group" };
  const bad = h.sim.injectUpdate({ message: { message_id: 50, from: alice, chat, date: 1_700_000_000, poll: { id: "1", question: { toString: 1 }, options: [] } } });
  const { updateId } = h.sim.inject({ chat: DEV, from: alice, text: "after the bad one" });
  assert.deepEqual((await inbox.waitFor(1)).map((m) => m.text), ["after the bad one"]);
  await h.sim.waitForConfirmed(updateId);
  assert.ok(bad < updateId);
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, /message\.poll\.question/);
  assert.equal(lines(h.logs, "rejected and skipped"), 1);
  assert.ok(h.logs.some((l) => l.includes("rejected and skipped") && l.includes(`"update_id":${bad}`)));
  assert.equal(adapter.status().state, "online");
  // A restart does not meet it again: the offset saved is past it.
  await adapter.stop();
  const again = await h.run({ onEventRejected: (r) => reasons.push(r) });
  h.sim.inject({ chat: DEV, from: alice, text: "sentinel" });
  assert.deepEqual((await again.inbox.waitFor(1)).map((m) => m.text), ["sentinel"]);
  assert.equal(reasons.length, 1);
  assertCleanRun(h);
});

test("updates without update_id served again and again: polls backed off, warnings logged once, counted, and the network goes on", async (t) => {
  const h = await harness(t);
  const reasons: string[] = [];
  const backoff = { min: 20, max: 40 };
  const { adapter, inbox } = await h.run({ onEventRejected: (r) => reasons.push(r), retry: { retries: 2, minTimeout: backoff.min, maxTimeout: backoff.max } });
  const first = (await h.sim.waitForPolls(1)).length;
  const repeats = 30;
  const noId = [{ message: { message_id: 1, chat: { id: -1001234567890, type: "supergroup" }, date: 1, text: "no id" } }, { update_id: "7" }];
  h.sim.failNextPoll({ result: noId }, repeats);
  // The parked poll answers the first update; the next polls meet the repeated bad answer.
  h.sim.inject({ chat: DEV, from: alice, text: "first" });
  await inbox.waitFor(1);
  await h.sim.state.waitFor(() => (h.sim.state.pollFaults.length === 0 ? true : undefined), ["poll"]);
  const { updateId } = h.sim.inject({ chat: DEV, from: alice, text: "survived" });
  assert.deepEqual((await inbox.waitFor(2)).map((m) => m.text), ["first", "survived"]);
  await h.sim.waitForConfirmed(updateId);
  await waitForStatus(adapter, "online");

  // Bounded polls: on the sim's clock, each repeat of the bad answer cost at least the backoff's
  // short end (a spinning client makes all of them in a few ms).
  const polls = h.sim.state.polls.slice(first);
  const bad = polls.slice(1, 1 + repeats);
  assert.equal(bad.length, repeats);
  const elapsed = bad.at(-1)!.at - bad[0]!.at;
  assert.ok(elapsed >= (repeats - 1) * (backoff.min - 1), `${repeats} bad answers polled within ${elapsed} ms`);
  // Bounded logs: each warning once (the RepeatedWarning interval is a minute), not once per answer.
  assert.equal(lines(h.logs, "update without a usable update_id"), 1);
  assert.equal(lines(h.logs, "offset cannot move past"), 1);
  // Counted: two rejected entries per answer.
  assert.equal(reasons.length, 2 * repeats);
  assertCleanRun(h);
});

test("an answer whose result is not a list, served again and again: backed off and logged once", async (t) => {
  const h = await harness(t);
  const backoff = { min: 20, max: 40 };
  const { inbox } = await h.run({ retry: { retries: 2, minTimeout: backoff.min, maxTimeout: backoff.max } });
  const first = (await h.sim.waitForPolls(1)).length;
  const repeats = 20;
  h.sim.failNextPoll({ result: { update_id: 1 } }, repeats);
  h.sim.inject({ chat: DEV, from: alice, text: "first" });
  await inbox.waitFor(1);
  await h.sim.state.waitFor(() => (h.sim.state.pollFaults.length === 0 ? true : undefined), ["poll"]);
  h.sim.inject({ chat: DEV, from: alice, text: "survived" });
  await inbox.waitFor(2);
  const bad = h.sim.state.polls.slice(first + 1, first + 1 + repeats);
  assert.ok(bad.at(-1)!.at - bad[0]!.at >= (repeats - 1) * (backoff.min - 1));
  assert.equal(h.logs.filter((l) => l.includes("result is not a list") && l.includes("step failed")).length, 1);
  assert.ok(lines(h.logs, "result is not a list") <= 2); // and the status change to "retrying"
  assertCleanRun(h);
});
