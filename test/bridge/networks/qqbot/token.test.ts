// The access token chain: obtained with the app id and secret, refreshed before it runs out
// (mid-stream, while events and sends go on), one refresh and one retry for a refused token, a
// wrong secret reported (HTTP 200 with a code), and never a secret or token in a debug log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { alice, others, assertCleanRun, assertNoSecretInLogs, CH, GROUP_OPENID, GRP, harness, sendError, waitForStatus } from "./harness.ts";

test("the token is refreshed before it expires, mid-stream: events and sends go on, nothing lost or doubled", { timeout: 30_000 }, async (t) => {
  // A 3 s token, renewed by the server only in its last 2 s (as the real one does in its last 60 s).
  const h = await harness(t, { tokenLifeS: 3, renewWindowS: 2 });
  const { adapter, inbox } = await h.run();
  const first = h.sim.state.current!;
  let n = 0;
  h.sim.sayInChannel("1001", alice, `m${++n}`);
  await adapter.send(CH, "s1");
  // Wait for the chain's own refresh (no request of ours asked for it).
  await h.sim.state.waitFor(() => (h.sim.state.current !== first ? true : undefined), ["token"]);
  h.sim.sayInChannel("1001", alice, `m${++n}`);
  await adapter.send(CH, "s2");
  // The old token expires; the new one keeps working.
  await h.sim.state.waitFor(() => (!h.sim.state.tokenValid(first) ? true : undefined), ["token", "heartbeat"]);
  h.sim.sayInChannel("1001", alice, `m${++n}`);
  await adapter.send(CH, "s3");
  h.sim.sayInChannel("1001", alice, "sentinel");
  const got = await others(inbox, 4);
  assert.deepEqual(got.map((m) => m.text), ["m1", "m2", "m3", "sentinel"]);
  assert.deepEqual(h.sim.sent(CH).map((m) => m.text), ["s1", "s2", "s3"]);
  assert.equal(h.sim.state.counters.refused401, 0, "the refresh came before expiry: no request was refused");
  assert.ok(h.sim.state.counters.tokensIssued >= 2);
  assertCleanRun(h);
});

test("a token that stops working mid-run: one refresh and one retry, the send goes out once", { timeout: 30_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  assert.equal(adapter.ready(GRP), false);
  h.sim.sayInGroup(GROUP_OPENID, "M1", "open a window");
  await inbox.waitFor(1);
  assert.equal(adapter.ready(GRP), true);
  h.sim.state.expireTokens();
  const { id: sentId } = await adapter.send(GRP, "after expiry");
  assert.equal(h.sim.state.counters.refused401, 1);
  assert.deepEqual(h.sim.sent(GRP).map((m) => [m.text, m.id]), [["after expiry", sentId]]);
  assertCleanRun(h);
});

test("a wrong secret: HTTP 200 with code 100016 → auth-failed with a clear detail; sends wait (retry); the secret is never logged", { timeout: 30_000 }, async (t) => {
  const h = await harness(t);
  const adapter = h.adapter({}, { secret: `${h.sim.secret}-wrong` });
  const failed = waitForStatus(adapter, "auth-failed");
  await adapter.start(async () => {});
  const s = await failed;
  assert.equal(s.ok, false);
  assert.match(s.detail!, /refused the app id or secret \(code 100016/);
  const e = await sendError(adapter.send(CH, "x"), "retry");
  assert.match(e.message, /refused the app id or secret/);
  assert.equal(e.retryAfterMs, 60_000);
  assert.deepEqual(h.sim.sent(), []);
  assert.ok(!h.logs.join("").includes(`${h.sim.secret}-wrong`));
  assertNoSecretInLogs(h);
});

test("debug logs of a whole session (token, gateway, sends) hold neither the secret nor a token", { timeout: 30_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  h.sim.sayInChannel("1001", alice, "hello");
  await inbox.waitFor(1);
  await adapter.send(CH, "answer");
  h.sim.state.expireTokens();
  await adapter.send(CH, "after expiry");
  h.sim.gateway.drop();
  await waitForStatus(adapter, "reconnecting", true).catch(() => undefined);
  h.sim.sayInChannel("1001", alice, "after drop");
  await others(inbox, 2);
  assert.ok(h.logs.some((l) => l.includes("resuming the gateway session")));
  assertCleanRun(h);
});
