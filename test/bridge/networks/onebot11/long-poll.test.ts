import { test } from "node:test";
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { assertCleanRun, GROUP, harness, waitForStatus } from "./harness.ts";

test("login learns our id; several events in one answer arrive in order with names, faces, mentions and images", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  assert.equal(adapter.status().ok, true);
  const bob = h.sim.state.memberByName(GROUP, { nickname: "bob" });
  h.sim.heartbeat();
  h.sim.inject({ group: GROUP, sender: { nickname: "alice", card: "Alice" }, message: [{ type: "text", data: { text: "[hi] & 你好 " } }, { type: "face", data: { id: "178" } }] });
  h.sim.inject({ group: GROUP, sender: { nickname: "carol" }, message: [{ type: "at", data: { qq: String(bob.userId) } }, { type: "text", data: { text: " look" } }, { type: "image", data: { file: "a.jpg", url: "http://img.example/a.jpg" } }] });
  h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: [{ type: "reply", data: { id: "-1289" } }, { type: "at", data: { qq: "all" } }, { type: "text", data: { text: " third" } }] });
  const msgs = await inbox.waitFor(3);
  assert.deepEqual(
    msgs.map((m) => [m.senderName, m.text, (m.media ?? []).map((x) => x.ref), m.replyTo ?? null]),
    [
      ["Alice", "[hi] & 你好 [face 178]", [], null],
      ["carol", "@bob look", ["http://img.example/a.jpg"], null],
      ["bob", "@all third", [], `${GROUP}:-1289`],
    ],
  );
  assert.equal(msgs[0]!.id, `${GROUP}:-1289`);
  assert.ok(msgs.every((m) => m.group === String(GROUP) && m.time instanceof Date));
  assertCleanRun(h);
});

test("own messages (message_sent, user_id = self_id) come with own: true and the send's id; other groups, private messages and notices are not delivered; CQ strings are parsed", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { echoOwn: true, messageFormat: "string", groups: [{ id: GROUP }, { id: 777 }] });
  const { adapter, inbox } = await h.run();
  assert.equal(adapter.evidence.echo, false); // not known before an echo was seen
  const { id } = await adapter.send(String(GROUP), "mine"); // echoed as post_type message_sent
  h.sim.injectEvent({ post_type: "message", message_type: "group", group_id: GROUP, user_id: h.sim.state.selfId, message_id: 5, message: "mine again", sender: { nickname: "me" } });
  h.sim.inject({ group: 777, sender: { nickname: "x" }, message: "elsewhere" });
  h.sim.injectEvent({ post_type: "message", message_type: "private", user_id: 42, message_id: 6, message: "private", sender: { nickname: "p" } });
  h.sim.injectEvent({ post_type: "notice", notice_type: "group_increase", group_id: GROUP, user_id: 43 });
  h.sim.injectEvent({ post_type: "message", message_type: "group", group_id: GROUP, user_id: 44, message_id: 7, message: "&#91;x&#93; &amp;#91; [CQ:face,id=14][CQ:image,file=b.jpg,url=http://i.example/b?x=1&#44;2]", sender: { nickname: "", card: "" } });
  const [echo, self, msg] = await inbox.waitFor(3);
  await h.sim.waitForDrained();
  assert.deepEqual([echo!.own, echo!.id, echo!.text], [true, id, "mine"]);
  assert.deepEqual([self!.own, self!.id, self!.text], [true, `${GROUP}:5`, "mine again"]);
  assert.equal(msg!.own, undefined);
  assert.equal(msg!.text, "[x] &#91; [face 14]");
  assert.deepEqual(msg!.media, [{ kind: "image", ref: "http://i.example/b?x=1,2", name: "b.jpg" }]);
  assert.equal(msg!.senderName, "44"); // no card, no nickname, not a member the server knows: the id
  assert.equal(inbox.messages.length, 3);
  assert.equal(adapter.evidence.echo, true);
  assertCleanRun(h);
});

test("a failing sink keeps the message and retries it; get_updates is not asked again before the sink took it", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  inbox.failNext = 3;
  let pollsAtFirstTry = -1;
  h.sim.state.once("delivered", () => (pollsAtFirstTry = h.sim.state.counters.polls));
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "durable" });
  await inbox.waitFor(1);
  assert.equal(inbox.failures, 3);
  assert.equal(h.sim.state.counters.polls, pollsAtFirstTry); // no poll while the sink was failing
  assert.equal(h.logs.filter((l) => l.includes("sink failed")).length, 3);
  assertCleanRun(h);
});

test("stopped before the sink took them: the events get_updates handed over are kept on disk (0600) and delivered on the next start", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const first = h.adapter();
  let reached!: () => void;
  const inSink = new Promise<void>((r) => (reached = r));
  await first.start(async () => {
    reached();
    await new Promise(() => undefined); // the outbox hangs; stop() comes first
  });
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "one" });
  h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "two" });
  await inSink;
  await first.stop();
  assert.equal(h.sim.state.queue.length, 0); // the server forgot them: only our file has them
  const file = join(h.stateDir, "onebot11-ob.pending.json");
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const { inbox } = await h.run();
  assert.deepEqual((await inbox.waitFor(2)).map((m) => m.text), ["one", "two"]);
  await h.sim.waitForPolls(h.sim.state.counters.polls + 1);
  await assert.rejects(stat(file), { code: "ENOENT" });
  assertCleanRun(h);
});

test("bad answers (500, 503, reset, stall, malformed, HTML, failed retcode) are survived, logged, and lose nothing", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  for (const f of ["500", "503", "reset", "stall", "malformed", "html", { retcode: 100, msg: "API_ERROR" }] as const) h.sim.failNext("get_updates", f);
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "survived" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "survived");
  await waitForStatus(adapter, "online");
  assert.ok(h.logs.some((l) => l.includes("malformed answer")));
  assert.ok(h.logs.some((l) => l.includes("retcode 100")));
  assert.ok(h.logs.some((l) => l.includes('"level":20')), "debug lines (HTTPStream's retries) were captured");
  assertCleanRun(h);
});

test("a refused token: auth-failed with the status in the detail, a long wait, online again once the server takes it; no token in the debug log", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const a = h.adapter({ access_token: "wrong-token-123" });
  const failed = waitForStatus(a, "auth-failed");
  await a.start(async () => {});
  const s = await failed;
  assert.equal(s.ok, false);
  assert.match(s.detail!, /HTTP 403/);
  const online = waitForStatus(a, "online");
  h.sim.setToken("wrong-token-123"); // the server's config now has this token
  await online;
  assertCleanRun(h, [...h.sim.secrets, "wrong-token-123"]);
});

test("no token at all: 401 from go-cqhttp; NapCat answers 403 for both", { timeout: 10_000 }, async (t) => {
  for (const flavor of ["go-cqhttp", "napcat"] as const) {
    const h = await harness(t, { flavor, longPoll: true });
    const a = h.adapter({ access_token: undefined });
    const failed = waitForStatus(a, "auth-failed");
    await a.start(async () => {});
    assert.match((await failed).detail!, flavor === "napcat" ? /HTTP 403/ : /HTTP 401/);
    await a.stop();
  }
});

test("a server without get_updates (long polling disabled) is reported as unsupported, not hammered", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { longPoll: false });
  const a = h.adapter();
  const unsupported = waitForStatus(a, "unsupported");
  await a.start(async () => {});
  assert.match((await unsupported).detail!, /long-polling/);
  h.sim.violations.length = 0; // the call of an action this server lacks is what is tested here
});

test("echoesThrough: once a get_updates sent after a failed send was answered and delivered, it is past the failure", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  h.sim.failNext("send_group_msg", "reset");
  await adapter.send(String(GROUP), "lost").catch(() => undefined);
  const failedAt = performance.now();
  // The poll in flight at the failure was sent before it; the next one goes out only once the
  // answer before it is done with, so the third message proves the second answer's fence is set.
  for (const [i, text] of ["one", "two", "three"].entries()) {
    h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: text });
    await inbox.waitFor(i + 1);
  }
  assert.ok((adapter.echoesThrough?.() ?? -Infinity) >= failedAt);
  assertCleanRun(h);
});
