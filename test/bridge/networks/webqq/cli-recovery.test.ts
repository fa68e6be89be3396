// The incident of issue 8, through `pollbridge run` as a child process with a real Prosody: poll2
// answers 121 and the saved cookies no longer relink. The bridge asks for a QR login (/healthz:
// login-required with the PNG's path), keeps what the room says meanwhile, delivers it after the
// scan, and exits 0 on SIGTERM in either state.
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { test } from "node:test";
import { GROUP, MEMBER, startWorld, type World } from "../../../e2e/world.ts";

const within = () => AbortSignal.timeout(30_000);

/** The bridge showed a new QR (the n-th of the run) and polls its status: its status was set before. */
async function qrShown(w: World, n: number): Promise<void> {
  await w.sim.state.waitFor(() => (w.sim.state.counters.qrShown >= n && w.sim.state.qrs.size > 0 ? true : undefined), ["qr-poll"], within());
}

async function loginRequired(w: World): Promise<{ ok: boolean; networks: Record<string, { state: string; detail?: string }> }> {
  const res = await fetch(`${w.metricsUrl}/healthz`);
  assert.equal(res.status, 503);
  return (await res.json()) as { ok: boolean; networks: Record<string, { state: string; detail?: string }> };
}

test("121 + cookies refused: login-required with the PNG in /healthz, room messages wait, the scan brings both directions back, SIGTERM exits 0", { timeout: 60_000 }, async (t) => {
  const w = await startWorld(t);
  const bridge = w.spawnBridge();
  await w.bridgeInRoom();
  await w.health(200);

  w.sim.state.autoScan = null; // from now on a QR waits for sim.scan()
  w.sim.refuseRelink();
  w.sim.loseSession();
  await qrShown(w, 2);
  const health = await loginRequired(w);
  const qq = health.networks.qq!;
  assert.equal(qq.state, "login-required");
  const png = /\((\/[^)]+\.png)\)/.exec(qq.detail ?? "")?.[1];
  assert.ok(png, `a PNG path in ${qq.detail}`);
  assert.equal((await stat(png)).mode & 0o777, 0o600);
  assert.match(w.logs(), /relink refused/);

  await w.alice.say(w.room, "said while QQ was logged out");
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "said in QQ meanwhile" });
  w.sim.scan();
  const [sent] = await w.sim.waitForSent(GROUP, 1, within());
  assert.equal(sent!.text, "<alice> said while QQ was logged out");
  await w.alice.waitFor((m) => m.nick === "qq" && m.body === "<小明> said in QQ meanwhile" && m, 30_000);
  await w.health(200);
  await assert.rejects(stat(png), /ENOENT/, "the scanned QR's PNG is gone");

  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0);
  assert.deepEqual(w.sim.violations, []);
});

test("SIGTERM while WebQQ waits for a QR scan exits 0; the room message it held goes out after the next run's scan", { timeout: 90_000 }, async (t) => {
  const w = await startWorld(t);
  const first = w.spawnBridge();
  await w.bridgeInRoom();
  await w.health(200); // logged in to QQ too
  w.sim.state.autoScan = null;
  w.sim.refuseRelink();
  w.sim.loseSession();
  await qrShown(w, 2);
  await w.alice.say(w.room, "kept across the restart");
  const stopAsked = Date.now();
  first.child.kill("SIGTERM");
  const exit = await first.exited;
  assert.equal(exit.code, 0, first.output().slice(-2000));
  t.diagnostic(`SIGTERM to exit while login-required: ${Date.now() - stopAsked} ms (relay.drain_timeout 5000)`);

  // The next run: the saved cookies are still refused, so a QR again; once scanned, the message goes out.
  const shown = w.sim.state.counters.qrShown;
  const second = w.spawnBridge();
  await qrShown(w, shown + 1);
  w.sim.scan();
  // Committed before the SIGTERM it goes out from the outbox; said just as the first run stopped
  // taking room messages, it comes from the next join's catch-up, marked with its time. Either
  // way: once.
  const unmarked = (text: string) => text.replace(/^\[\d{4}-\d\d-\d\d \d\d:\d\d UTC\] /, "");
  const [sent] = await w.sim.waitForSent(GROUP, 1, within());
  assert.equal(unmarked(sent!.text), "<alice> kept across the restart");
  await w.alice.say(w.room, "sentinel");
  await w.sim.waitForSent(GROUP, 2, within());
  assert.deepEqual(w.sim.sent(GROUP).map((m) => unmarked(m.text)), ["<alice> kept across the restart", "<alice> sentinel"]);
  second.child.kill("SIGTERM");
  assert.equal((await second.exited).code, 0);
  assert.deepEqual(w.sim.violations, []);
});
