import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { pendingPath } from "../../../../bridge/networks/onebot12/pending.ts";
import { assertCleanRun, GROUP, harness, member, waitForStatus } from "./harness.ts";

test("online after get_status names our bot; several events in one answer arrive in order with names and segments", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  assert.deepEqual(adapter.status(), { ok: true, state: "online" });
  assert.equal(h.sim.state.requestsOf("get_status").length, 1);
  const taken = new Promise<number>((r) => h.sim.state.once("taken", r));
  h.sim.inject({ group: GROUP, member: member("20001", "alice", "Alice"), message: [{ type: "text", data: { text: "你好 <b>&amp;</b> " } }, { type: "mention", data: { user_id: "20002" } }] });
  h.sim.inject({ group: GROUP, member: member("20002", "bob", ""), message: [{ type: "image", data: { file_id: "f1" } }, { type: "mention_all", data: {} }] });
  h.sim.inject({ group: GROUP, member: member("20003", "carol"), message: [{ type: "reply", data: { message_id: "6283" } }, { type: "text", data: { text: "third" } }, { type: "qq.face", data: { id: "14" } }] });
  assert.equal(await taken, 3); // one answer
  const msgs = await inbox.waitFor(3);
  assert.deepEqual(
    msgs.map((m) => [m.senderName, m.senderId, m.text]),
    [
      ["Alice", "20001", "你好 <b>&amp;</b> @bob"], // the card before the account name
      ["bob", "20002", "@all"], // no card: the account name
      ["carol", "20003", "third[qq.face]"],
    ],
  );
  assert.deepEqual(msgs[1]!.media, [{ kind: "image", ref: "file_id:f1" }]); // resolved by get_file when fetched
  assert.equal(msgs[2]!.replyTo, `${GROUP}:6283`);
  assert.deepEqual(msgs.map((m) => m.id), [`${GROUP}:6283`, `${GROUP}:6284`, `${GROUP}:6285`]);
  assert.ok(msgs.every((m) => m.group === GROUP && m.time instanceof Date && Math.abs(m.time.getTime() - Date.now()) < 60_000));
  assertCleanRun(h);
});

test("display names are cached and refetched for an unknown sender", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  for (let i = 0; i < 3; i++) h.sim.inject({ group: GROUP, member: member("20001", "alice", "Alice"), message: `m${i}` });
  await inbox.waitFor(3);
  assert.equal(h.sim.state.counters.memberInfo, 1);
  h.sim.inject({ group: GROUP, member: member("20009", "newcomer", "新人"), message: "hi" });
  assert.equal((await inbox.waitFor(4))[3]!.senderName, "新人");
  assert.equal(h.sim.state.counters.memberInfo, 2);
  assertCleanRun(h);
});

test("own messages come as own echoes with the send's id; other groups, private messages, notices and go-cqhttp heartbeats are not handed on", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { timeoutMode: "gocqhttp", groups: [{ group_id: GROUP }, { group_id: "999" }] });
  const { adapter, inbox } = await h.run();
  const { id } = await adapter.send(GROUP, "mine"); // echoed back with user_id = self.user_id
  h.sim.heartbeat();
  h.sim.inject({ group: "999", member: member("1", "x"), message: "elsewhere" });
  h.sim.queueEvent({ id: "p", self: { platform: "qq", user_id: "10001" }, time: 1, type: "message", detail_type: "private", sub_type: "", message_id: "1", message: [], alt_message: "", user_id: "1" });
  h.sim.queueEvent({ id: "n", self: { platform: "qq", user_id: "10001" }, time: 1, type: "notice", detail_type: "group_member_increase", sub_type: "join", group_id: GROUP, user_id: "2", operator_id: "" });
  h.sim.inject({ group: GROUP, member: member("20002", "bob"), message: "theirs" });
  await inbox.waitFor(2);
  await h.sim.waitForTaken();
  assert.deepEqual(inbox.messages.map((m) => [m.text, m.own ?? false]), [["mine", true], ["theirs", false]]);
  assert.equal(inbox.messages[0]!.id, id);
  assert.ok(h.sim.state.requestsOf("get_latest_events").every((r) => r.params.timeout === 1)); // never 0 (go-cqhttp: forever)
  assertCleanRun(h);
});

test("several bots on one connection: self is sent with every action, 10101 never happens, other bots' events are skipped", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { bots: [{ platform: "qq", user_id: "10001", online: false }, { platform: "qq", user_id: "10002" }] });
  const { adapter, inbox } = await h.run();
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "for the other bot", bot: 0 });
  h.sim.inject({ group: GROUP, member: member("10001", "the other bot"), message: "from the other bot", bot: 1 });
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "for us", bot: 1 });
  await inbox.waitFor(2);
  await h.sim.waitForTaken();
  assert.deepEqual(inbox.messages.map((m) => m.text), ["from the other bot", "for us"]);
  await adapter.send(GROUP, "hello");
  assert.deepEqual(h.sim.sent(GROUP)[0]!.self, { platform: "qq", user_id: "10002", online: true });
  assertCleanRun(h);
});

test("a failing sink keeps the message and retries it; no poll goes out before it is accepted", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  inbox.failNext = 2;
  let pollsAtTake = -1;
  h.sim.state.once("taken", () => (pollsAtTake = h.sim.state.counters.polls));
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "durable" });
  await inbox.waitFor(1);
  assert.equal(inbox.failures, 2);
  assert.equal(h.sim.state.counters.polls, pollsAtTake); // the next poll only after the sink said yes
  assert.equal(h.logs.filter((l) => l.includes("sink failed")).length, 2);
  assertCleanRun(h);
});

test("stop between poll and sink: the taken events are kept (0600) and delivered first on the next start", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const adapter = h.adapter();
  const first: string[] = [];
  let blocked!: () => void;
  const sinkBlocked = new Promise<void>((r) => (blocked = r));
  let release!: (err: Error) => void;
  await adapter.start(async (m) => {
    if (m.text === "one") return void first.push(m.text);
    blocked();
    await new Promise<void>((_, reject) => (release = reject)); // the relay's store goes away
  });
  await waitForStatus(adapter, "online");
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "one" });
  h.sim.inject({ group: GROUP, member: member("20002", "bob"), message: "two" });
  h.sim.inject({ group: GROUP, member: member("20002", "bob"), message: "three" });
  await sinkBlocked;
  const stopped = adapter.stop();
  release(new Error("outbox closed"));
  await stopped;
  assert.deepEqual(first, ["one"]);
  assert.equal(h.sim.state.buffer.length, 0); // the server no longer has them: only our file does
  const file = pendingPath(h.stateDir, "ob12");
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(JSON.parse(await readFile(file, "utf8")).events.length, 2);

  const polls = h.sim.state.counters.polls;
  const { inbox } = await h.run();
  const msgs = await inbox.waitFor(2);
  await h.sim.waitForRequests("get_latest_events", polls + 1); // the first poll goes out after the saved events
  assert.deepEqual(msgs.map((m) => [m.text, m.senderName]), [["two", "bob"], ["three", "bob"]]);
  assert.deepEqual(msgs.map((m) => m.id), [`${GROUP}:6284`, `${GROUP}:6285`]);
  await assert.rejects(stat(file), { code: "ENOENT" });
  assertCleanRun(h);
});

test("an unreadable file of undelivered events is set aside, not lost, and the adapter runs", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { writeFile, readdir } = await import("node:fs/promises");
  await writeFile(pendingPath(h.stateDir, "ob12"), "{not json", { mode: 0o600 });
  const { inbox } = await h.run();
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: "fresh" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "fresh");
  assert.ok((await readdir(h.stateDir)).some((f) => f.includes(".pending.json.bad-")));
  assert.ok(h.logs.some((l) => l.includes("set aside")));
  assertCleanRun(h);
});

test("unreadable message content falls back to alt_message", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  h.sim.queueEvent({ id: "x", self: { platform: "qq", user_id: "10001" }, time: 1700000000.5, type: "message", detail_type: "group", sub_type: "", message_id: "m1", message: "not segments", alt_message: "the alt text", group_id: GROUP, user_id: "20001" });
  const [m] = await inbox.waitFor(1);
  assert.equal(m!.text, "the alt text");
  assert.equal(m!.time.getTime(), 1700000000500);
  assertCleanRun(h);
});

test("get_status without a bots list: get_self_info names our bot, and its own messages are still recognised as own", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { statusWithoutBots: true });
  const { adapter, inbox } = await h.run();
  assert.equal(h.sim.state.requestsOf("get_self_info").length, 1);
  await adapter.send(GROUP, "mine");
  h.sim.inject({ group: GROUP, member: member("20002", "bob"), message: "theirs" });
  await inbox.waitFor(2);
  await h.sim.waitForTaken();
  assert.deepEqual(inbox.messages.map((m) => [m.text, m.own ?? false]), [["mine", true], ["theirs", false]]);
  assertCleanRun(h);
});

test("a message with nothing readable (no segments, blank text) is relayed as [unsupported message], never blank", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  h.sim.inject({ group: GROUP, member: member("20001", "alice"), message: [{ type: "text", data: { text: " \u200b\n" } }] });
  h.sim.queueEvent({ id: "empty", self: { platform: "qq", user_id: "10001" }, time: 1, type: "message", detail_type: "group", sub_type: "", message_id: "m2", message: [], alt_message: "", group_id: GROUP, user_id: "20001" });
  assert.deepEqual((await inbox.waitFor(2)).map((m) => m.text), ["[unsupported message]", "[unsupported message]"]);
  assertCleanRun(h);
});
