import { test } from "node:test";
import assert from "node:assert/strict";
import { alice, assertCleanRun, DEV, harness, Inbox, waitForStatus } from "./harness.ts";
import { startTelegramSim } from "../../../sim/telegram.ts";

test("bad answers (500, 502, HTML, malformed, reset, 429, stall) are survived, logged, and lose nothing", async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const states: string[] = [];
  adapter.onStatus!((s) => states.push(s.state));
  await h.sim.waitForPolls(1);
  // The parked poll answers "first"; the polls after it meet every fault in turn.
  for (const f of ["500", "502", "html", "conflict", "malformed", "reset", { retryAfter: 1 }, "stall"] as const) h.sim.failNextPoll(f);
  h.sim.inject({ chat: DEV, from: alice, text: "first" });
  await inbox.waitFor(1);
  await h.sim.state.waitFor(() => (h.sim.state.pollFaults.length === 0 ? true : undefined), ["poll"]);
  const { updateId } = h.sim.inject({ chat: DEV, from: alice, text: "survived" });
  assert.deepEqual((await inbox.waitFor(2)).map((m) => m.text), ["first", "survived"]);
  await h.sim.waitForConfirmed(updateId);
  assert.equal(adapter.status().state, "online");
  assert.ok(states.includes("retrying") && states.includes("conflict"));
  assert.ok(h.logs.some((l) => l.includes("malformed body")));
  assert.ok(h.logs.some((l) => l.includes("rate limited (429)")));
  assert.equal(h.sim.state.counters.getMe, 1); // no re-identification for transport trouble
  assertCleanRun(h);
});

test("a webhook blocks getUpdates (409): the adapter deletes it and keeps the queued updates", async (t) => {
  const h = await harness(t);
  h.sim.setWebhook("https://example.org/hook");
  h.sim.inject({ chat: DEV, from: alice, text: "queued while the webhook was set" });
  const { inbox } = await h.run();
  assert.equal((await inbox.waitFor(1))[0]!.text, "queued while the webhook was set");
  assert.equal(h.sim.state.counters.deleteWebhook, 1);
  assert.equal(h.sim.state.webhook, "");
  assertCleanRun(h);
});

test("a second poller with the same token: 409 → status conflict, then polling resumes", async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  await h.sim.waitForPolls(1);
  const conflict = waitForStatus(adapter, "conflict", true);
  const online = conflict.then(() => waitForStatus(adapter, "online", true));
  // Another instance parks a poll: ours is terminated with 409; our next poll terminates theirs.
  const other = fetch(`${h.sim.url}/bot${h.sim.token}/getUpdates?timeout=1`).then((r) => r.json() as Promise<{ ok: boolean; error_code?: number }>);
  assert.match((await conflict).detail!, /another getUpdates client/);
  const answer = await other;
  assert.equal(answer.error_code, 409, "our next poll terminated the other one");
  h.sim.inject({ chat: DEV, from: alice, text: "after the conflict" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "after the conflict");
  await online;
  // The sim recorded the overlapping polls; nothing else.
  assert.ok(h.sim.violations.length > 0 && h.sim.violations.every((v) => v.includes("second long poll")));
  h.sim.violations.length = 0;
  assertCleanRun(h);
});

test("server unreachable at start: offline, then online once it is up; nothing queued is lost", async (t) => {
  const probe = await startTelegramSim();
  const port = Number(new URL(probe.url).port);
  const token = probe.token;
  await probe.close();
  const h = await harness(t);
  const adapter = h.adapter({ config: { type: "telegram", token, api: `http://127.0.0.1:${port}` } });
  h.tokens.add(token);
  const offline = waitForStatus(adapter, "offline");
  const inbox = new Inbox();
  await adapter.start(inbox.sink);
  assert.equal((await offline).ok, false);
  const online = waitForStatus(adapter, "online", true);
  const sim = await startTelegramSim({ port, token });
  t.after(() => sim.close());
  sim.inject({ chat: DEV, from: alice, text: "first" });
  await online;
  assert.equal((await inbox.waitFor(1))[0]!.text, "first");
  assert.deepEqual(sim.violations, []);
  await adapter.stop();
  assertCleanRun(h);
});

test("the token never appears in debug logs, even when it does not look like a bot token", async (t) => {
  const token = `selfhosted.${"s3cr3t".repeat(4)}`;
  const h = await harness(t, { token });
  const { adapter, inbox } = await h.run();
  h.sim.failNextPoll("reset");
  h.sim.failNextPoll("conflict");
  h.sim.inject({ chat: DEV, from: alice, text: "x" });
  await inbox.waitFor(1);
  h.sim.failNextSend("reset-after");
  await adapter.send(DEV, "y").catch(() => undefined);
  assert.ok(h.logs.some((l) => l.includes('"level":20'))); // debug lines were written
  assert.ok(h.logs.some((l) => l.includes("[Redacted]")));
  assertCleanRun(h);
});
