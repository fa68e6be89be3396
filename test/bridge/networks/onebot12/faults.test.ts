import { test } from "node:test";
import assert from "node:assert/strict";
import { idleBackoff } from "../../../../bridge/networks/onebot12/poller.ts";
import { createServer } from "node:net";
import { startOnebot12Sim } from "../../../sim/onebot12.ts";
import { assertCleanRun, assertNoSecretLogged, GROUP, harness, Inbox, member, TEST_RETRY, waitForStatus } from "./harness.ts";

test("bad answers (500, 502, 503, 429, reset, stall, malformed, HTML, failed retcode) are survived, logged, and lose nothing", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const statuses: string[] = [];
  adapter.onStatus!((s) => statuses.push(s.state));
  for (const f of ["500", "502", "503", "429", "reset", "stall", "malformed", "html", { retcode: 20002 }] as const) h.sim.failNextPoll(f);
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "survived" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "survived");
  await waitForStatus(adapter, "online");
  assert.ok(statuses.includes("retrying")); // the trouble was reported, then cleared
  assert.ok(h.logs.some((l) => l.includes("malformed body")));
  assert.ok(h.logs.some((l) => l.includes("retcode 20002")));
  assert.equal(h.sim.state.counters.concurrentPolls, 0); // a stalled poll was given up before the next
  assertCleanRun(h);
});

test("a server that answers [] at once (ignoring timeout) is polled with a pause, not in a spin", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { timeoutMode: "instant" });
  const backoff = { min: 30, max: 60 };
  const { inbox } = await h.run({ retry: { ...TEST_RETRY, minTimeout: backoff.min, maxTimeout: backoff.max } });
  const polls = await h.sim.waitForRequests("get_latest_events", 12);
  // Counted on the sim's clock: after an early empty answer every pause is at least the idle
  // minimum, so 12 polls cannot fit in less than 11 of them (a spinning client needs ~0).
  const idle = idleBackoff(backoff, 1);
  assert.ok(idle.min >= 30, `test premise: ${idle.min}`);
  assert.ok(polls[11]!.at - polls[0]!.at >= 11 * idle.min - 11, `12 polls in ${polls[11]!.at - polls[0]!.at} ms`);
  // Messages still arrive.
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "still here" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "still here");
  assert.ok(h.logs.some((l) => l.includes("answers empty polls at once")));
  assertCleanRun(h);
});

const TEST_RETRY_BACKOFF = { min: TEST_RETRY.minTimeout, max: TEST_RETRY.maxTimeout };

test("a refused token: status auth-failed with a clear detail, slow retries, back online once the token is taken", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const adapter = h.adapter({ config: { type: "onebot12", url: h.sim.url, access_token: "wrong-token-1234" } });
  const failed = waitForStatus(adapter, "auth-failed");
  await adapter.start(async () => {});
  const s = await failed;
  assert.equal(s.ok, false);
  assert.match(s.detail!, /401.*access_token/);
  const at = await h.sim.state.waitFor(() => (h.sim.state.authFailuresAt.length >= 3 ? h.sim.state.authFailuresAt : undefined));
  // Each retry waits at least the long end of the backoff, doubling (sim clock): no hammering.
  assert.ok(at[1]! - at[0]! >= TEST_RETRY.maxTimeout, `${at[1]! - at[0]!} ms`);
  assert.ok(at[2]! - at[1]! >= 2 * TEST_RETRY.maxTimeout, `${at[2]! - at[1]!} ms`);
  h.sim.setTokens([h.sim.token, "wrong-token-1234"]);
  await waitForStatus(adapter, "online");
  assert.ok(!h.logs.join("").includes("wrong-token-1234"));
  assertNoSecretLogged(h);
});

test("401 on a poll (token revoked) → auth-failed; taken back → online", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const failed = waitForStatus(adapter, "auth-failed", true);
  h.sim.failNextPoll("401");
  await failed;
  await waitForStatus(adapter, "online", true);
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "after" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "after");
  assertCleanRun(h);
});

test("get_latest_events switched off (10002): a clear status, no spin", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { eventsEnabled: false });
  const adapter = h.adapter();
  const offline = waitForStatus(adapter, "offline");
  await adapter.start(async () => {});
  assert.match((await offline).detail!, /get_latest_events.*event_enabled/);
  const polls = await h.sim.waitForRequests("get_latest_events", 3);
  for (let i = 1; i < 3; i++) assert.ok(polls[i]!.at - polls[i - 1]!.at >= TEST_RETRY.maxTimeout, "asked again only after the long backoff");
  assertCleanRun(h);
});

test("the token in the url's query (the spec's fallback) works and is never logged, even in transport errors", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ config: { type: "onebot12", url: `${h.sim.url}?access_token=${h.sim.token}` } });
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "q" });
  await inbox.waitFor(1);
  await adapter.send(GROUP, "via query token");
  assert.equal(h.sim.sent(GROUP).length, 1);
  const failed = waitForStatus(adapter, "retrying", true);
  h.sim.failNextPoll("reset", 5); // past HTTPStream's own retries: errors are logged
  await failed;
  await waitForStatus(adapter, "online", true);
  assert.ok(h.logs.some((l) => l.includes("get_latest_events step failed")));
  assertCleanRun(h);
});

test("the server down at start: offline, then online once it listens", { timeout: 10_000 }, async (t) => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const h = await harness(t);
  const adapter = h.adapter({ config: { type: "onebot12", url: `http://127.0.0.1:${port}/`, access_token: "late-token-5678" } });
  const offline = waitForStatus(adapter, "offline");
  const inbox = new Inbox();
  await adapter.start(inbox.sink);
  assert.match((await offline).detail!, /ECONNREFUSED|connect/i);
  const late = await startOnebot12Sim({ port, token: "late-token-5678" });
  t.after(() => late.close());
  await waitForStatus(adapter, "online");
  late.inject({ group: GROUP, member: member("20001", "alice"), message: "late" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "late");
  assert.deepEqual(late.violations, []);
  assert.ok(!h.logs.join("").includes("late-token-5678"));
});
