import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { assertCleanRun, harness, waitForStatus } from "./harness.ts";

test("116 replaces ptwebqq with p; polls, group list and the saved session use the new value", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  h.sim.failNextPoll("116");
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "after rotation" });
  await inbox.waitFor(1);
  const p = h.sim.state.web!.ptwebqq;
  const saved = JSON.parse(await readFile(join(h.stateDir, "webqq-qq.session.json"), "utf8"));
  assert.equal(saved.ptwebqq, p);
  assertCleanRun(h); // a poll with the old ptwebqq would be a violation
});

test("103 → get_online_buddies2, then polling goes on", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const warmups = h.sim.state.counters.buddies;
  h.sim.failNextPoll("103");
  h.sim.inject({ group: "Dev Group", sender: { name: "bob" }, content: "after 103" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "after 103");
  assert.equal(h.sim.state.counters.buddies, warmups + 1);
  assert.equal(h.sim.state.counters.login2, 1);
  assert.equal(adapter.status().state, "online");
  assertCleanRun(h);
});

test("idle answers (102, 504, empty result) are normal: no backoff, no relogin", { timeout: 20_000 }, async (t) => {
  const h = await harness(t, { holdMs: 5 });
  const { adapter, inbox } = await h.run({ pollHold: 5 });
  const polls = h.sim.state.counters.polls;
  await h.sim.state.waitFor(() => (h.sim.state.counters.polls >= polls + 9 ? true : undefined), ["poll"]);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "x" });
  await inbox.waitFor(1);
  assert.equal(h.sim.state.counters.login2, 1);
  assert.equal(adapter.status().state, "online");
  assert.ok(!h.logs.some((l) => l.includes("poll2 failed")));
  assertCleanRun(h);
});

test("several messages in one answer are all delivered, in order, with names, faces and Chinese intact", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  const delivered = new Promise<number>((r) => h.sim.state.once("delivered", r));
  h.sim.inject({ group: "Dev Group", sender: { name: "alice", card: "Alice" }, content: ["你好 ", ["face", 14], " <b>&amp;</b>"] });
  h.sim.inject({ group: "Dev Group", sender: { name: "bob" }, content: "second" });
  h.sim.inject({ group: "Dev Group", sender: { name: "newcomer", card: "新人" }, content: ["third", ["face", 999]] });
  assert.equal(await delivered, 3); // one answer
  const msgs = await inbox.waitFor(3);
  assert.deepEqual(
    msgs.map((m) => [m.senderName, m.text]),
    [["Alice", "你好 /微笑 <b>&amp;</b>"], ["bob", "second"], ["新人", "third[face 999]"]],
  );
  assert.equal(new Set(msgs.map((m) => m.id)).size, 3);
  assert.ok(msgs.every((m) => m.group === "Dev Group" && m.id.startsWith("Dev Group:")));
  assertCleanRun(h);
});

test("bad answers (malformed, HTML, 500, 503, reset, stall, unknown retcode) are retried, logged, and lose nothing", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  for (const f of ["malformed", "html", "500", "503", "reset", "stall", { retcode: 100001 }] as const) h.sim.failNextPoll(f);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "survived" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "survived");
  assert.equal(adapter.status().state, "online");
  assert.equal(h.sim.state.counters.login2, 1); // one unknown retcode is not a lost session
  assert.ok(h.logs.some((l) => l.includes("malformed body")));
  assert.ok(h.logs.some((l) => l.includes("malformed body: <html>")));
  assertCleanRun(h);
});

test("repeated failure retcodes lead to a re-login", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  await h.run();
  h.sim.failNextPoll({ retcode: 100012 }, 4);
  await h.sim.waitForLogins(2);
  assertCleanRun(h);
});

test("a failing sink keeps the message and retries it; the poll is not re-armed before", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const adapter = h.adapter();
  let failures = 2;
  let pollsAtDelivery = -1;
  const accepted: { text: string; polls: number }[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  h.sim.state.on("delivered", () => (pollsAtDelivery = h.sim.state.counters.polls));
  await adapter.start(async (m) => {
    if (failures-- > 0) throw new Error("outbox unavailable");
    accepted.push({ text: m.text, polls: h.sim.state.counters.polls });
    done();
  });
  await waitForStatus(adapter, "online");
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "durable" });
  await finished;
  assert.deepEqual(accepted, [{ text: "durable", polls: pollsAtDelivery }]);
  assert.equal(h.logs.filter((l) => l.includes("sink failed")).length, 2);
  assertCleanRun(h);
});

test("our own messages echoed by the server are not delivered; other groups are ignored", { timeout: 20_000 }, async (t) => {
  const h = await harness(t, { echoOwn: true, groups: [{ name: "Dev Group" }, { name: "Other" }] });
  const { adapter, inbox } = await h.run();
  await adapter.send("Dev Group", "mine");
  h.sim.inject({ group: "Other", sender: { name: "x" }, content: "elsewhere" });
  h.sim.inject({ group: "Dev Group", sender: { name: "y" }, content: "theirs" });
  const msgs = await inbox.waitFor(1);
  await h.sim.waitForDelivered();
  assert.deepEqual(msgs.map((m) => m.text), ["theirs"]);
  assertCleanRun(h);
});

test("a group list that fails while resolving a new group's gid loses no message of the answer", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run({ groups: ["Dev Group", "New Group"] });
  h.sim.joinGroup({ name: "New Group", members: [{ name: "carol" }] });
  h.sim.failNextGroupList("html", 2);
  const delivered = new Promise<number>((r) => h.sim.state.once("delivered", r));
  h.sim.inject({ group: "New Group", sender: { name: "carol" }, content: "from the new group" });
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "right after" });
  assert.equal(await delivered, 2); // one answer: the server no longer holds either
  const msgs = await inbox.waitFor(2);
  assert.deepEqual(msgs.map((m) => [m.group, m.text]), [["New Group", "from the new group"], ["Dev Group", "right after"]]);
  assertCleanRun(h);
});

test("a failing poll2 shows in status (retrying) until poll2 answers again (online): health never says online while nothing arrives", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const retrying = waitForStatus(adapter, "retrying", true);
  h.sim.failNextPoll("500");
  const down = await retrying;
  assert.equal(down.ok, false);
  assert.match(down.detail ?? "", /500/);
  const back = waitForStatus(adapter, "online", true);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "after the outage" });
  assert.equal((await back).ok, true);
  assert.equal((await inbox.waitFor(1))[0]!.text, "after the outage");
  assertCleanRun(h);
});

test("a poll2 item of the wrong shape is logged with its id, counted via onEventRejected, and skipped; the rest of the answer is delivered", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const rejected: string[] = [];
  const { inbox } = await h.run({ onEventRejected: (reason) => rejected.push(reason) });
  const gid = h.sim.state.session!.gids.get("Dev Group")!.gid;
  h.sim.failNextPoll({
    result: [
      { poll_type: "group_message", value: { from_uin: { toString: 1 }, send_uin: 1, msg_id: 4242, time: 1, content: ["x"] } },
      "not an item",
      { poll_type: "buddies_status_change", value: { uin: 1, status: "online" } }, // valid, not ours: no rejection
      { poll_type: "group_message", value: { from_uin: gid, send_uin: h.sim.state.memberUin("Dev Group", "alice"), msg_id: 4243, time: 2, content: [["font", {}], "usable"] } },
    ],
  });
  assert.equal((await inbox.waitFor(1))[0]!.text, "usable");
  assert.equal(rejected.length, 2);
  assert.match(rejected[0]!, /from_uin/);
  assert.ok(h.logs.some((l) => l.includes("poll2 item rejected") && l.includes('"id":"4242"')));
  assertCleanRun(h);
});

test("an answer of only unusable items, served again and again, is backed off and warned about once (with a count later)", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const rejected: string[] = [];
  const { inbox } = await h.run({ onEventRejected: (reason) => rejected.push(reason) });
  h.sim.failNextPoll({ result: [{ poll_type: "group_message", value: { msg_id: 7 } }] }, 6);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "after the junk" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "after the junk");
  assert.equal(rejected.length, 6);
  assert.equal(h.logs.filter((l) => l.includes("poll2 answered only unusable items; backing off")).length, 1);
  assert.equal(h.logs.filter((l) => l.includes("poll2 item rejected")).length, 1);
  assertCleanRun(h);
});

test("a message with nothing readable (only its font) is relayed as [unsupported message], never as an empty line", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: [" "] });
  assert.equal((await inbox.waitFor(1))[0]!.text, "[unsupported message]");
  assertCleanRun(h);
});

test("messages poll2 handed over while the outbox fails are kept in a pending file (0600) across a stop and delivered by the next start", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const first = h.adapter();
  let attempts = 0;
  let failing!: () => void;
  const sinkFailed = new Promise<void>((r) => (failing = r));
  const online = waitForStatus(first, "online");
  await first.start(async () => {
    attempts++;
    failing();
    throw new Error("outbox unavailable");
  });
  await online;
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "kept" });
  h.sim.inject({ group: "Dev Group", sender: { name: "bob" }, content: "kept too" });
  await sinkFailed;
  await h.sim.waitForDelivered(); // the server no longer holds them
  await first.stop(); // as a crash would: the sink never took them
  const file = join(h.stateDir, "webqq-qq.pending.json");
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.ok(attempts >= 1);

  const { inbox } = await h.run();
  const msgs = await inbox.waitFor(2);
  assert.deepEqual(msgs.map((m) => [m.senderName, m.text]), [["Alice", "kept"], ["bob", "kept too"]]);
  await assert.rejects(stat(file), /ENOENT/);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "sentinel" });
  assert.deepEqual((await inbox.waitFor(3)).map((m) => m.text), ["kept", "kept too", "sentinel"]);
  assertCleanRun(h);
});

test("whatever items poll2 answers with, the poll chain survives: a message after 40 random answers arrives", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  let rejected = 0;
  const { adapter, inbox } = await h.run({ onEventRejected: () => rejected++ });
  const junk = fc.sample(fc.array(fc.oneof(fc.anything(), fc.record({ poll_type: fc.constant("group_message"), value: fc.anything() })), { maxLength: 4 }), { numRuns: 40, seed: 8 });
  for (const result of junk) h.sim.failNextPoll({ result });
  h.sim.inject({ group: "Dev Group", sender: { name: "bob" }, content: "still polling" });
  const msgs = await inbox.waitFor(1);
  assert.equal(msgs.at(-1)!.text, "still polling");
  assert.equal(adapter.status().state, "online");
  assert.ok(rejected > 0);
  assertCleanRun(h);
});

test("a server answering 'nothing' at once, again and again, is backed off (warned once), and polling goes on", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  h.sim.failNextPoll("102", 12);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "after the quick idles" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "after the quick idles");
  assert.equal(h.logs.filter((l) => l.includes("without holding; backing off")).length, 1);
  assertCleanRun(h);
});
