import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alice, assertCleanRun, bob, DEV, DEV_TOPIC, harness, Inbox, OTHER_CHAT, SMALL, waitForStatus } from "./harness.ts";

test("getMe identifies the bot; status goes starting → online; groups() lists the configured groups", async (t) => {
  const h = await harness(t);
  const adapter = h.adapter();
  const states: string[] = [];
  adapter.onStatus!((s) => states.push(s.state));
  const online = waitForStatus(adapter, "online");
  await adapter.start(async () => {});
  await online;
  assert.deepEqual(states, ["starting", "online"]);
  assert.equal(adapter.status().ok, true);
  assert.equal(h.sim.state.counters.getMe, 1);
  assert.equal(adapter.maxMessageLength, 4096);
  assert.deepEqual(await adapter.groups(), [DEV, DEV_TOPIC, SMALL]);
  const [poll] = await h.sim.waitForPolls(1);
  assert.deepEqual(poll!.allowedUpdates, '["message","edited_message"]');
  assert.equal(poll!.timeout, 1);
  assert.ok(h.logs.some((l) => l.includes("bot identified") && l.includes("pollbridge_bot")));
  assertCleanRun(h);
});

test("several updates in one answer arrive in order, rendered, routed to topics, with stable ids and server times", async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  await h.sim.waitForPolls(1);
  const answered = new Promise<number>((r) => h.sim.state.once("answered", r));
  h.sim.inject({ chat: DEV, from: alice, text: "hello <b>&amp;</b> *x*", date: 1_700_000_000 });
  h.sim.inject({ chat: DEV, from: bob, text: "in topic 3", thread: 3, replyTo: 1 });
  h.sim.inject({ chat: DEV, from: alice, thread: 7, extra: { photo: [{ file_id: "AgAD", width: 1, height: 1 }], caption: "a cat" } });
  h.sim.inject({ chat: SMALL, from: alice, extra: { sticker: { file_id: "CAAD", emoji: "😀" } } });
  h.sim.inject({ chat: DEV, from: { id: 1087968824, first_name: "Group", username: "GroupAnonymousBot" }, text: "anon", extra: { sender_chat: { id: -1001234567890, title: "Dev Group", type: "supergroup" } } });
  assert.equal(await answered, 5); // one answer
  const msgs = await inbox.waitFor(5);
  assert.deepEqual(
    msgs.map((m) => [m.group, m.senderName, m.text]),
    [
      [DEV, "Alice Liddell", "hello <b>&amp;</b> *x*"],
      [DEV_TOPIC, "@bobby", "in topic 3"],
      [DEV, "Alice Liddell", "a cat"], // topic 7 is not configured: the whole chat is; the photo is media
      [SMALL, "Alice Liddell", "[sticker 😀]"],
      [DEV, "Dev Group", "anon"],
    ],
  );
  assert.deepEqual(msgs.map((m) => m.id), [`${DEV}:1`, `${DEV_TOPIC}:2`, `${DEV}:3`, `${SMALL}:1`, `${DEV}:4`]);
  assert.equal(msgs[0]!.time.getTime(), 1_700_000_000_000);
  assert.equal(msgs[0]!.senderId, "501");
  assert.equal(msgs[1]!.replyTo, `${DEV_TOPIC}:1`);
  assert.deepEqual(msgs[2]!.media, [{ kind: "image", ref: "AgAD", name: "photo_AgAD.jpg", mime: "image/jpeg" }]);
  assertCleanRun(h);
});

test("own messages, private chats, other groups, service messages and other update types are skipped but confirmed", async (t) => {
  const h = await harness(t, { echoOwn: true });
  const { adapter, inbox } = await h.run();
  await adapter.send(DEV, "mine");
  h.sim.inject({ chat: OTHER_CHAT, from: alice, text: "elsewhere" });
  h.sim.injectUpdate({ message: { message_id: 9, from: alice, chat: { id: 501, type: "private", first_name: "Alice" }, date: 1, text: "dm" } });
  h.sim.inject({ chat: DEV, from: alice, extra: { new_chat_members: [bob] } });
  h.sim.injectUpdate({ edited_channel_post: { message_id: 1, chat: { id: -100555, type: "channel" }, date: 1, text: "edit" } });
  h.sim.injectUpdate({ edited_message: { message_id: 1, from: alice, chat: { id: OTHER_CHAT, type: "supergroup" }, date: 1, edit_date: 2, text: "edit elsewhere" } });
  h.sim.injectUpdate({ bogus: true, update_id: undefined });
  const last = h.sim.inject({ chat: DEV, from: bob, text: "theirs" });
  const msgs = await inbox.waitFor(1);
  await h.sim.waitForConfirmed(last.updateId);
  assert.deepEqual(msgs.map((m) => m.text), ["theirs"]);
  assert.ok(h.logs.some((l) => l.includes("our own message")));
  assertCleanRun(h);
});

test("a failing sink keeps the update and retries it; the offset is not advanced before the sink resolved", async (t) => {
  const h = await harness(t);
  const adapter = h.adapter();
  let failures = 2;
  const accepted: { text: string; polls: number; confirmedBelow: number }[] = [];
  const inbox = new Inbox();
  await adapter.start(async (m) => {
    if (failures-- > 0) throw new Error("outbox unavailable");
    accepted.push({ text: m.text, polls: h.sim.state.polls.length, confirmedBelow: h.sim.state.confirmedBelow });
    await inbox.sink(m);
  });
  await h.sim.waitForPolls(1);
  const pollsBefore = h.sim.state.polls.length;
  const { updateId } = h.sim.inject({ chat: DEV, from: alice, text: "durable" });
  await inbox.waitFor(1);
  // Accepted on the third try, with no poll in between and the update still unconfirmed.
  assert.equal(accepted.length, 1);
  assert.equal(accepted[0]!.polls, pollsBefore);
  assert.ok(accepted[0]!.confirmedBelow <= updateId);
  await h.sim.waitForConfirmed(updateId);
  assert.equal(h.logs.filter((l) => l.includes("sink failed")).length, 2);
  assertCleanRun(h);
});

test("stop() during a failing delivery: what went through is not replayed, the rest is redelivered on the next start", async (t) => {
  const h = await harness(t);
  const first = h.adapter();
  const got: string[] = [];
  let refused!: () => void;
  const refusedOnce = new Promise<void>((r) => (refused = r));
  await first.start(async (m) => {
    if (m.text === "b") {
      refused();
      throw new Error("outbox down");
    }
    got.push(m.text);
  });
  await h.sim.waitForPolls(1);
  h.sim.inject({ chat: DEV, from: alice, text: "a" });
  const b = h.sim.inject({ chat: DEV, from: alice, text: "b" });
  await refusedOnce;
  await first.stop();
  assert.deepEqual(got, ["a"]);
  const saved = JSON.parse(await readFile(join(h.stateDir, "telegram-tg.offset.json"), "utf8"));
  assert.equal(saved.offset, b.updateId); // "a" is through, "b" is not
  assert.equal(saved.botId, String(h.sim.state.bot.id));
  assert.equal((await stat(join(h.stateDir, "telegram-tg.offset.json"))).mode & 0o777, 0o600);

  await h.sim.waitForNoParkedPoll();
  const { inbox } = await h.run();
  assert.deepEqual((await inbox.waitFor(1)).map((m) => m.text), ["b"]);
  await h.sim.waitForConfirmed(b.updateId);
  assert.deepEqual(inbox.messages.map((m) => m.text), ["b"]);
  assertCleanRun(h);
});

test("a restart resumes from the saved offset (nothing replayed); another bot's or an unreadable offset file is not used", async (t) => {
  const h = await harness(t);
  const one = await h.run();
  const a = h.sim.inject({ chat: DEV, from: alice, text: "before restart" });
  await one.inbox.waitFor(1);
  await one.adapter.stop();
  await h.sim.waitForNoParkedPoll();
  const before = h.sim.state.polls.length;
  const two = await h.run();
  const [poll] = (await h.sim.waitForPolls(before + 1)).slice(before);
  assert.equal(poll!.offset, a.updateId + 1);
  h.sim.inject({ chat: DEV, from: alice, text: "after restart" });
  assert.deepEqual((await two.inbox.waitFor(1)).map((m) => m.text), ["after restart"]);
  await two.adapter.stop();
  await h.sim.waitForNoParkedPoll();

  const file = join(h.stateDir, "telegram-tg.offset.json");
  await writeFile(file, JSON.stringify({ version: 1, botId: "999", offset: 5 }));
  const polls = h.sim.state.polls.length;
  await h.run();
  const [fresh] = (await h.sim.waitForPolls(polls + 1)).slice(polls);
  assert.equal(fresh!.offset, 0); // no offset: the server's earliest unconfirmed update
  assert.ok(h.logs.some((l) => l.includes("belongs to another bot")));
  assertCleanRun(h);
});

test("an unreadable offset file is set aside with a clear log line", async (t) => {
  const h = await harness(t);
  await writeFile(join(h.stateDir, "telegram-tg.offset.json"), "{not json");
  const { inbox } = await h.run();
  h.sim.inject({ chat: DEV, from: alice, text: "still works" });
  await inbox.waitFor(1);
  assert.ok(h.logs.some((l) => l.includes("saved offset unusable") && l.includes("bad JSON")));
  assertCleanRun(h);
});

test("a refused token: auth-failed with a clear detail, no hammering, sends say retry; a revoked token mid-run too", async (t) => {
  const h = await harness(t);
  const bad = h.adapter({ config: { type: "telegram", token: "123:wrong-token-value", api: h.sim.url } });
  h.tokens.add("123:wrong-token-value");
  const failed = waitForStatus(bad, "auth-failed");
  await bad.start(async () => {});
  const s = await failed;
  assert.equal(s.ok, false);
  assert.match(s.detail!, /refused the token of network "tg" \(401 Unauthorized\).*Next try in 60 s/);
  const err = await bad.send(DEV, "x").then(() => assert.fail("sent"), (e: { kind: string; retryAfterMs: number }) => e);
  assert.equal(err.kind, "retry");
  assert.equal(err.retryAfterMs, 60_000);
  await bad.stop();
  assert.equal(h.sim.state.counters.unauthorized, 1); // one getMe, then a long wait (cut short by stop)

  const { adapter } = await h.run();
  const revoked = waitForStatus(adapter, "auth-failed", true);
  h.sim.revokeToken();
  h.sim.failNextPoll("conflict"); // end the parked poll so the next one meets the new token
  assert.match((await revoked).detail!, /401 Unauthorized/);
  assertCleanRun(h);
});
