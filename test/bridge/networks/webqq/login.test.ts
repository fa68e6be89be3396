import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assertCleanRun, harness, waitForStatus } from "./harness.ts";

test("QR login through an expired QR (65), then messages flow; the session is saved 0600", { timeout: 20_000 }, async (t) => {
  const h = await harness(t, { autoScan: false });
  const adapter = h.adapter({
    onQr: (qr) => {
      h.qrs.push(qr);
      if (h.qrs.length === 1) h.sim.expireQr(); // the first QR expires unscanned
      else h.sim.scan();
    },
  });
  const statuses: string[] = [];
  adapter.onStatus!((s) => statuses.push(s.state));
  const online = waitForStatus(adapter, "online");
  const got: string[] = [];
  let arrived!: () => void;
  const first = new Promise<void>((r) => (arrived = r));
  await adapter.start(async (m) => {
    got.push(m.text);
    arrived();
  });
  await online;
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "hello" });
  await first;
  assert.deepEqual(got, ["hello"]);

  assert.equal(h.qrs.length, 2);
  assert.match(h.qrs[1]!.text, /\/_sim\/scan\?k=/); // the PNG was decoded
  await assert.rejects(readFile(h.qrs[1]!.pngPath), /ENOENT/, "the used QR PNG is removed after the login");
  assert.ok(statuses.includes("login-required"));
  assert.deepEqual(await adapter.groups(), ["Dev Group"]);
  const session = await stat(join(h.stateDir, "webqq-qq.session.json"));
  assert.equal(session.mode & 0o777, 0o600);
  assertCleanRun(h);
});

test("a restart reuses the saved session: no QR, no login2", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const first = await h.run();
  await first.adapter.stop();
  const before = { ...h.sim.state.counters };
  assert.equal(before.qrShown, 1);

  const { inbox } = await h.run({ onQr: () => assert.fail("no QR expected") });
  assert.equal(h.sim.state.counters.qrShown, 1);
  assert.equal(h.sim.state.counters.login2, before.login2);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: "still here" });
  assert.equal((await inbox.waitFor(1))[0]!.text, "still here");
  assertCleanRun(h);
});

test("121 relinks without a QR: new gids, groups re-resolved by name, both directions work", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const gidBefore = h.sim.state.session!.gids.get("Dev Group")!.gid;
  const online = waitForStatus(adapter, "online", true);
  h.sim.failNextPoll("121");
  await h.sim.waitForLogins(2);
  await online;
  assert.notEqual(h.sim.state.session!.gids.get("Dev Group")!.gid, gidBefore);
  assert.equal(h.sim.state.counters.qrShown, 1);

  h.sim.inject({ group: "Dev Group", sender: { name: "bob" }, content: "after relink" });
  const [msg] = await inbox.waitFor(1);
  assert.equal(msg!.group, "Dev Group");
  assert.equal(msg!.senderName, "bob");
  await adapter.send("Dev Group", "reply");
  assert.deepEqual((await h.sim.waitForSent("Dev Group", 1)).map((m) => m.text), ["reply"]);
  assertCleanRun(h);
});

test("100000 (login expired) falls back to a new QR login", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const relogged = waitForStatus(adapter, "online", true);
  h.sim.failNextPoll("100000");
  await h.sim.waitForLogins(2);
  await relogged;
  assert.equal(h.sim.state.counters.qrShown, 2);
  h.sim.inject({ group: "Dev Group", sender: { name: "alice", card: "Alice" }, content: "hi" });
  assert.equal((await inbox.waitFor(1))[0]!.senderName, "Alice");
  assertCleanRun(h);
});

test("login() alone runs the QR flow and saves the session that start() then reuses", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  await h.adapter().login();
  assert.equal(h.sim.state.counters.login2, 1);
  await h.run({ onQr: () => assert.fail("no QR expected") });
  assert.equal(h.sim.state.counters.login2, 1);
  assertCleanRun(h);
});

test("an unreadable session file is set aside (kept) and a QR login follows", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  await writeFile(join(h.stateDir, "webqq-qq.session.json"), "{broken");
  await h.run();
  assert.equal(h.sim.state.counters.qrShown, 1);
  const kept = (await readdir(h.stateDir)).filter((f) => f.includes(".bad-"));
  assert.equal(kept.length, 1);
  assert.equal(await readFile(join(h.stateDir, kept[0]!), "utf8"), "{broken");
  assert.ok(h.logs.some((l) => l.includes("saved session unusable")));
  assertCleanRun(h);
});
