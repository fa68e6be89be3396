// Session recovery: a relink the server refuses leads to a QR login (shown, written as a PNG,
// login-required in the status with the PNG's path), repeated while nobody scans; messages flow
// both ways again afterwards; stop() returns whatever the network is waiting for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import type { NetworkStatus } from "../../../../bridge/network.ts";
import { assertCleanRun, harness, Inbox, sendError, waitForStatus, type Adapter, type Harness } from "./harness.ts";

/** Resolves with the n-th QR the adapter showed (counting all of them). */
function nthQr(h: Harness, n: number): Promise<Harness["qrs"][number]> {
  return h.sim.state.waitFor(() => h.qrs[n - 1], ["qr-shown"]);
}

/** An adapter on a sim that never scans by itself; every QR it shows is announced to the sim's waiters. */
async function manualScan(t: Parameters<typeof harness>[0], extra: Parameters<Harness["adapter"]>[0] = {}) {
  const h = await harness(t, { autoScan: false });
  const adapter = h.adapter({
    onQr: (qr) => {
      h.qrs.push(qr);
      h.sim.state.emit("qr-shown");
    },
    ...extra,
  });
  return { h, adapter };
}

async function startAndScan(h: Harness, adapter: Adapter): Promise<Inbox> {
  const inbox = new Inbox();
  const online = waitForStatus(adapter, "online");
  await adapter.start(inbox.sink);
  await nthQr(h, 1);
  h.sim.scan();
  await online;
  return inbox;
}

test("121, then the cookies no longer relink (getvfwebqq 100001): a QR login, login-required with the PNG; after the scan messages flow both ways with groups re-resolved", { timeout: 20_000 }, async (t) => {
  const { h, adapter } = await manualScan(t);
  const inbox = await startAndScan(h, adapter);
  const gidBefore = h.sim.state.session!.gids.get("Dev Group")!.gid;

  const required = new Promise<NetworkStatus>((resolve) =>
    adapter.onStatus!((s) => {
      if (s.state === "login-required" && s.detail?.includes(".png")) resolve(s);
    }),
  );
  h.sim.refuseRelink();
  h.sim.loseSession(); // the parked poll2 answers 121 at once
  const down = await required;
  assert.equal(down.ok, false);
  await nthQr(h, 2);
  assert.ok(down.detail!.includes(h.qrs[1]!.pngPath), down.detail);
  assert.deepEqual(await readFile(h.qrs[1]!.pngPath), Buffer.from(h.qrs[1]!.png));
  assert.equal((await stat(h.qrs[1]!.pngPath)).mode & 0o777, 0o600);
  assert.ok(h.logs.some((l) => l.includes("relink refused") && l.includes("100001")));

  // While nobody has scanned: sends are "retry" (the relay keeps them), a QQ message waits on the server.
  assert.equal((await sendError(adapter.send("Dev Group", "said while logged out"))).kind, "retry");
  h.sim.inject({ group: "Dev Group", sender: { name: "bob" }, content: "said in QQ meanwhile" });

  const online = waitForStatus(adapter, "online", true);
  h.sim.scan();
  await online;
  assert.notEqual(h.sim.state.session!.gids.get("Dev Group")!.gid, gidBefore, "a new session, new gids");
  assert.equal(h.sim.state.counters.qrShown, 2);

  const [msg] = await inbox.waitFor(1);
  assert.deepEqual([msg!.group, msg!.senderName, msg!.text], ["Dev Group", "bob", "said in QQ meanwhile"]);
  await adapter.send("Dev Group", "said while logged out"); // the relay's retry
  assert.deepEqual(h.sim.sent("Dev Group").map((m) => m.text), ["said while logged out"]);
  assertCleanRun(h);
});

test("a relink that keeps failing (HTML answers) gives up after relinkAttempts and asks for a QR login", { timeout: 20_000 }, async (t) => {
  const { h, adapter } = await manualScan(t, { relinkAttempts: 3 });
  await startAndScan(h, adapter);
  h.sim.failNextRelink("html", 3);
  h.sim.loseSession();
  await nthQr(h, 2);
  assert.equal(adapter.status().state, "login-required");
  assert.equal(h.sim.state.relinkFaults.length, 0, "three tries, then the QR");
  assert.ok(h.logs.some((l) => l.includes("webqq connect failed 3 times")));
  const online = waitForStatus(adapter, "online", true);
  h.sim.scan();
  await online;
  assertCleanRun(h);
});

test("while nobody scans, the QR login repeats: each expired QR is followed by a new one after a backoff; status stays login-required with the PNG", { timeout: 20_000 }, async (t) => {
  const { h, adapter } = await manualScan(t, { qrBackoff: { min: 5, max: 20 } });
  const states: NetworkStatus[] = [];
  adapter.onStatus!((s) => states.push(s));
  const online = waitForStatus(adapter, "online");
  await adapter.start(async () => {});
  for (let n = 1; n <= 3; n++) {
    await nthQr(h, n);
    h.sim.expireQr(); // this one expires unscanned
  }
  await nthQr(h, 4);
  h.sim.scan();
  await online;
  assert.equal(h.sim.state.counters.qrShown, 4);
  const rounds = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "webqq: the QR code expired unscanned; a new one follows").map((l) => l.round as number);
  assert.deepEqual(rounds, [1, 2, 3]);
  const before = states.slice(0, states.findIndex((s) => s.state === "online"));
  assert.ok(before.every((s) => !s.ok));
  assert.ok(before.some((s) => s.state === "login-required" && s.detail?.startsWith("scan the QR code") && s.detail.includes(h.qrs[0]!.pngPath)));
  assert.ok(before.some((s) => s.state === "login-required" && s.detail?.startsWith("the QR code expired unscanned; a new one in")));
  await assert.rejects(stat(h.qrs[3]!.pngPath), /ENOENT/, "the used QR PNG is removed after the login");
  assertCleanRun(h);
});

test("stop() during a QR wait resolves", { timeout: 20_000 }, async (t) => {
  const { h, adapter } = await manualScan(t, { qrPollInterval: 60_000 });
  await adapter.start(async () => {});
  await nthQr(h, 1);
  await adapter.stop();
  assert.equal(adapter.status().state, "stopped");
  assert.equal(h.sim.state.counters.login2, 0);
});

test("stop() during a relink backoff resolves", { timeout: 20_000 }, async (t) => {
  const h = await harness(t);
  // Long backoffs: without the stop signal, stop() would wait them out and the test would time out.
  const { adapter } = await h.run({ relinkAttempts: 1_000, retry: { retries: 0, minTimeout: 60_000, maxTimeout: 60_000 } });
  h.sim.failNextRelink("500", 1_000);
  const failed = new Promise<void>((resolve) => h.sim.state.once("fault", () => resolve()));
  h.sim.loseSession();
  await failed;
  await adapter.stop();
  assert.equal(adapter.status().state, "stopped");
});

test("stop() with poll2 parked and a send waiting for its answer resolves; the send is not lost ('unknown')", { timeout: 20_000 }, async (t) => {
  const h = await harness(t, { holdMs: 60_000 });
  const { adapter } = await h.run({ pollHold: 60_000, sendTimeout: 60_000 });
  h.sim.failNextSend("stall-after");
  const sending = sendError(adapter.send("Dev Group", "in flight"));
  await h.sim.waitForSent("Dev Group", 1);
  await adapter.stop();
  assert.equal((await sending).kind, "unknown");
});
