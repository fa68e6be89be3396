// A server that serves bodies of the wrong shape (issue 9): one malformed event never wedges the
// network, and an unusable answer served again and again is backed off and logged boundedly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertCleanRun, GROUP, harness, member, TEST_RETRY, waitForStatus } from "./harness.ts";

const lines = (logs: string[], text: string) => logs.filter((l) => l.includes(text)).length;
const event = (over: Record<string, unknown>) => ({ id: "ev-1", self: { platform: "qq", user_id: "10001" }, time: 1, type: "message", detail_type: "group", sub_type: "", message_id: "9", message: [], alt_message: "", group_id: GROUP, user_id: "20001", ...over });

test("an event of the wrong shape is rejected once with its id and skipped; the events around it arrive", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const reasons: string[] = [];
  const { adapter, inbox } = await h.run({ onEventRejected: (r) => reasons.push(r) });
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "before" });
  h.sim.queueEvent(event({ id: "bad-event-1", group_id: { toString: 1 } }));
  h.sim.queueEvent(event({ id: "bad-event-2", message: "not segments", alt_message: undefined }));
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "after" });
  assert.deepEqual((await inbox.waitFor(2)).map((m) => m.text), ["before", "after"]);
  assert.equal(reasons.length, 2);
  assert.match(reasons[0]!, /group_id/);
  assert.match(reasons[1]!, /segment array/);
  assert.ok(h.logs.some((l) => l.includes("rejected and skipped") && l.includes("bad-event-1")));
  assert.ok(h.logs.some((l) => l.includes("rejected and skipped") && l.includes("bad-event-2")));
  assert.equal(adapter.status().state, "online");
  assertCleanRun(h);
});

for (const [name, data, logged] of [
  ["the same malformed events", [event({ message_id: { toString: 1 } }), null], "rejected and skipped"],
  ["data that is not an event list", { events: [] }, "not an event list"],
  ["the same event (same id) handed out again", [event({ id: "again", group_id: "999" })], "no usable event"],
] as const) {
  test(`${name}, served again and again: polls backed off, the warning logged once, and the network goes on`, { timeout: 10_000 }, async (t) => {
    const h = await harness(t);
    const reasons: string[] = [];
    const backoff = { min: 20, max: 40 };
    const { adapter, inbox } = await h.run({ onEventRejected: (r) => reasons.push(r), retry: { ...TEST_RETRY, minTimeout: backoff.min, maxTimeout: backoff.max } });
    const first = (await h.sim.waitForRequests("get_latest_events", 1)).length;
    const repeats = 25;
    // The held poll answers "first"; the next polls meet the repeated bad answer.
    h.sim.failNextPoll({ data }, repeats);
    h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "first" });
    await inbox.waitFor(1);
    await h.sim.state.waitFor(() => (h.sim.state.pollFaults.length === 0 ? true : undefined));
    h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "survived" });
    assert.deepEqual((await inbox.waitFor(2)).map((m) => m.text), ["first", "survived"]);
    await waitForStatus(adapter, "online");
    // Bounded polls: on the sim's clock each repeat cost at least the backoff's short end (the
    // first of repeated events is new, so it is usable: one repeat fewer is backed off).
    const bad = h.sim.state.requestsOf("get_latest_events").slice(first + 1, first + 1 + repeats);
    assert.equal(bad.length, repeats);
    assert.ok(bad.at(-1)!.at - bad[0]!.at >= (repeats - 2) * (backoff.min - 1), `${repeats} bad answers polled within ${bad.at(-1)!.at - bad[0]!.at} ms`);
    // Bounded logs: once, not once per answer (RepeatedWarning: once a minute).
    const rejects = Array.isArray(data) ? data.filter((e) => e === null || typeof (e as { message_id?: unknown }).message_id !== "string").length : 0;
    assert.equal(h.logs.filter((l) => l.includes(logged) && l.includes('"level":40')).length, Math.max(1, rejects));
    assert.equal(lines(h.logs, "get_latest_events failed; backing off"), 1);
    assert.equal(reasons.length, rejects * repeats);
    assertCleanRun(h);
  });
}
