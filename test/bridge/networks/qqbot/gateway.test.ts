// Events over the gateway WebSocket: intents, resume after a drop and after op 7 with nothing
// lost or doubled, a fresh Identify after op 9, a socket whose heartbeat ACK never comes is
// replaced, and the resume point moves only past events the sink took.
import { test, type TestContext } from "node:test";
import { once } from "node:events";
import assert from "node:assert/strict";
import { INTENTS } from "../../../sim/qqbot.ts";
import { alice, assertCleanRun, bob, CH, GROUP_OPENID, GRP, harness, others, waitForStatus } from "./harness.ts";

const T = { timeout: 30_000 };

test("identify with the intents the bridges need; names: guild nick, else user name; groups: the openid", T, async (t) => {
  const h = await harness(t);
  const identified = h.sim.state.waitFor(() => h.sim.state.counters.identifies || undefined, ["identified"]);
  const { inbox } = await h.run();
  await identified;
  assert.deepEqual(h.sim.state.identifiedIntents, [INTENTS.GUILD_MESSAGES | INTENTS.GROUP_AND_C2C_EVENT]);
  h.sim.sayInChannel("1001", alice, "nick & <tags>");
  h.sim.sayInChannel("1001", bob, "no nick");
  h.sim.sayInChannel("1002", alice, "unconfigured channel");
  h.sim.sayInGroup(GROUP_OPENID, "MEMBER_OPENID_1", "group text");
  h.sim.sayInGroup(GROUP_OPENID, "MEMBER_OPENID_2", "with a name", { username: "Carol" });
  const got = await others(inbox, 4);
  assert.deepEqual(got.map((m) => [m.group, m.senderId, m.senderName, m.text]), [
    [CH, alice.id, alice.nick, "nick & <tags>"],
    [CH, bob.id, "bob", "no nick"],
    [GRP, "MEMBER_OPENID_1", "MEMBER_OPENID_1", "group text"],
    [GRP, "MEMBER_OPENID_2", "Carol", "with a name"],
  ]);
  assertCleanRun(h);
});

test("a public bot: GUILD_MESSAGES refused (4014) → PUBLIC_GUILD_MESSAGES; only @-messages arrive, without the mention", T, async (t) => {
  const h = await harness(t, { privateBot: false });
  const { adapter, inbox } = await h.run();
  assert.equal(adapter.evidence.echo, false);
  h.sim.sayInChannel("1001", alice, "not for the bot");
  h.sim.sayInChannel("1001", alice, "hey bot", { at: true });
  const got = await others(inbox, 1);
  assert.deepEqual(got.map((m) => m.text), ["hey bot"]);
  assert.ok(h.logs.some((l) => l.includes("falling back to PUBLIC_GUILD_MESSAGES")));
  assert.deepEqual(h.sim.state.identifiedIntents, [INTENTS.PUBLIC_GUILD_MESSAGES | INTENTS.GROUP_AND_C2C_EVENT]);
  assertCleanRun(h);
});

test("an @-message arrives once: the adapter asks only one of the two guild intents (holding both, each would come twice)", T, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run({ groups: [CH] });
  assert.deepEqual(h.sim.state.identifiedIntents, [INTENTS.GUILD_MESSAGES]);
  h.sim.sayInChannel("1001", alice, "at the bot", { at: true });
  h.sim.sayInChannel("1001", alice, "sentinel");
  const got = await others(inbox, 2);
  assert.deepEqual(got.map((m) => m.text), ["at the bot", "sentinel"]);
});

async function resumeCase(t: TestContext, fault: "drop" | "reconnect"): Promise<void> {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  h.sim.sayInChannel("1001", alice, "before");
  await others(inbox, 1);
  const resumed = h.sim.state.waitFor(() => h.sim.state.counters.resumes || undefined, ["resumed"]);
  if (fault === "drop") h.sim.gateway.drop();
  else h.sim.gateway.reconnect();
  // Said while the socket is gone: the session keeps them for the resume.
  await h.sim.state.waitFor(() => (h.sim.gateway.connected() ? undefined : true), ["gateway-closed"]);
  for (let i = 1; i <= 3; i++) h.sim.sayInChannel("1001", alice, `gap ${i}`);
  await resumed;
  h.sim.sayInChannel("1001", alice, "sentinel");
  const got = await others(inbox, 5);
  assert.deepEqual(got.map((m) => m.text), ["before", "gap 1", "gap 2", "gap 3", "sentinel"]);
  assert.equal(h.sim.state.counters.identifies, 1, "resumed, not identified again");
  assert.equal(h.sim.state.counters.missedEvents, 0);
  assert.equal(adapter.status().state, "online");
  assertCleanRun(h);
}

test("a dropped socket: resume with session_id and the last seq; nothing lost, nothing doubled", T, (t) => resumeCase(t, "drop"));
test("op 7 (reconnect): resume; nothing lost, nothing doubled", T, (t) => resumeCase(t, "reconnect"));

test("op 9 (invalid session): identify afresh, then events flow again", T, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  h.sim.sayInChannel("1001", alice, "one");
  await others(inbox, 1);
  const again = h.sim.state.waitFor(() => (h.sim.state.counters.identifies >= 2 ? true : undefined), ["identified"]);
  h.sim.gateway.invalidSession();
  await again;
  h.sim.sayInChannel("1001", alice, "two");
  const got = await others(inbox, 2);
  assert.deepEqual(got.map((m) => m.text), ["one", "two"]);
  assert.equal(h.sim.state.counters.resumes, 0);
  assert.ok(h.logs.some((l) => l.includes("op 9")));
  assertCleanRun(h);
});

test("a socket that stops acknowledging heartbeats is dead: replaced and resumed; what was said meanwhile arrives", T, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  const resumed = h.sim.state.waitFor(() => h.sim.state.counters.resumes || undefined, ["resumed"]);
  h.sim.gateway.mute();
  h.sim.sayInChannel("1001", alice, "into the void");
  await resumed;
  h.sim.sayInChannel("1001", alice, "sentinel");
  const got = await others(inbox, 2);
  assert.deepEqual(got.map((m) => m.text), ["into the void", "sentinel"]);
  assert.ok(h.logs.some((l) => l.includes("no heartbeat ACK")));
  assertCleanRun(h);
});

test("durability: while the sink fails, the seq does not move; a drop then resumes from before the unstored event", T, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run({ retry: { retries: 2, minTimeout: 50, maxTimeout: 100 } });
  h.sim.sayInChannel("1001", alice, "stored");
  await others(inbox, 1);
  const beats: unknown[] = [];
  h.sim.state.on("heartbeat", (d) => beats.push(d));
  inbox.failNext = 1_000_000;
  h.sim.sayInChannel("1001", alice, "needs retries");
  // While the sink refuses it, heartbeats carry the seq of "stored", never of the refused event.
  await h.sim.state.waitFor(() => (inbox.failures >= 1 ? true : undefined), ["heartbeat"]);
  const seqNow = h.sim.gateway.stats().lastSeq;
  beats.length = 0;
  await h.sim.state.waitFor(() => (beats.length >= 2 ? true : undefined), ["heartbeat"]);
  assert.ok(beats.every((b) => typeof b === "number" && b < seqNow), `heartbeats ${JSON.stringify(beats)} vs last seq ${seqNow}`);
  h.sim.gateway.drop();
  inbox.failNext = 0;
  h.sim.sayInChannel("1001", alice, "sentinel");
  const got = await others(inbox, 3);
  assert.deepEqual(got.map((m) => m.text), ["stored", "needs retries", "sentinel"]);
  assertCleanRun(h);
});

test("the token expires mid-run and the socket drops: the refused token (401 / 11244) is refreshed once, the session resumed, nothing lost", T, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  h.sim.sayInChannel("1001", alice, "one");
  await others(inbox, 1);
  const resumed = h.sim.state.waitFor(() => h.sim.state.counters.resumes || undefined, ["resumed"]);
  h.sim.state.expireTokens();
  h.sim.gateway.drop();
  await h.sim.state.waitFor(() => (h.sim.gateway.connected() ? undefined : true), ["gateway-closed"]);
  h.sim.sayInChannel("1001", alice, "two");
  await resumed;
  h.sim.sayInChannel("1001", alice, "three");
  assert.deepEqual((await others(inbox, 3)).map((m) => m.text), ["one", "two", "three"]);
  assert.equal(h.sim.state.counters.identifies, 1);
  assert.equal(h.sim.state.counters.refused401, 1);
  assert.ok(h.sim.state.counters.tokensIssued >= 2);
  assertCleanRun(h);
});

test("a gateway that accepts the socket but never says Hello is given up and the session resumed on a new socket", T, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run({ establishTimeoutMs: 300 });
  h.sim.sayInChannel("1001", alice, "one");
  await others(inbox, 1);
  const silenced = once(h.sim.state, "silenced");
  const resumed = h.sim.state.waitFor(() => h.sim.state.counters.resumes || undefined, ["resumed"]);
  h.sim.gateway.silence();
  h.sim.gateway.drop();
  await silenced;
  h.sim.sayInChannel("1001", alice, "two");
  await resumed;
  assert.deepEqual((await others(inbox, 2)).map((m) => m.text), ["one", "two"]);
  assert.ok(h.logs.some((l) => l.includes("did not complete Hello")));
  assertCleanRun(h);
});
