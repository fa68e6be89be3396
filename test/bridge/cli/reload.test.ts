// Reload on a running bridge (the real CLI, the WebQQ simulator, a real Prosody): a broken config
// is refused and the bridge goes on; a good one (a new format) is applied; messages said around
// the reload arrive exactly once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { GROUP, MEMBER, startWorld, type BridgeProcess, type World } from "../../e2e/world.ts";

const MAIN = new URL("../../../bridge/cli/main.ts", import.meta.url).pathname;
const TIMEOUT = 30_000;

function reload(w: World): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [MAIN, "reload", "-c", w.configPath], { env: w.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, out })));
}

/** Resolves when the bridge's output (after `from` characters) matches. */
function logged(b: BridgeProcess, re: RegExp, from = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (re.test(b.output().slice(from))) {
        b.child.stderr!.off("data", check);
        clearTimeout(timer);
        resolve();
      }
    };
    const timer = setTimeout(() => reject(new Error(`not logged within ${TIMEOUT} ms: ${re}\n${b.output().slice(-3000)}`)), TIMEOUT);
    b.child.stderr!.on("data", check);
    check();
  });
}

const fromBridge = (w: World) => w.alice.messages.filter((m) => m.nick === "qq" && !m.delayed).map((m) => m.body);
const aliceSees = (w: World, body: string) => w.alice.waitFor((m) => m.nick === "qq" && m.body === body && m, TIMEOUT);

test("reload: a broken config is refused and logged, a good one applied live; nothing lost or doubled around it", async (t) => {
  const w = await startWorld(t);
  const bridge = w.spawnBridge();
  await w.bridgeInRoom();
  await w.health(200);
  const pidFile = join(w.dir, "state", "pollbridge.pid");
  assert.equal((await readFile(pidFile, "utf8")).trim(), String(bridge.child.pid));
  const good = await readFile(w.configPath, "utf8");

  w.sim.inject({ group: GROUP, sender: MEMBER, content: "before" });
  await aliceSees(w, "<小明> before");

  // Broken: `pollbridge reload` says so and signals nothing; a SIGHUP anyway is refused by the
  // bridge with its problem logged, and the bridge goes on with the running config.
  await writeFile(w.configPath, good.replace("relay: {", "colour: red\nrelay: {"));
  const broken = await reload(w);
  assert.equal(broken.code, 1);
  assert.match(broken.out, /colour: unknown key/);
  let mark = bridge.output().length;
  bridge.child.kill("SIGHUP");
  await logged(bridge, /reload refused: colour: unknown key/, mark);
  await logged(bridge, /the running config stays/, mark);
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "still" });
  await aliceSees(w, "<小明> still");

  // Good: a new format, with messages both ways said while the reload runs.
  await writeFile(w.configPath, good.replace(`    qq: "${GROUP}"`, `    qq: "${GROUP}"\n    format: "[{network}] {nick}: {text}"`));
  mark = bridge.output().length;
  assert.equal((await reload(w)).code, 0);
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "around" });
  await w.alice.say(w.room, "x-around");
  await logged(bridge, /config reloaded/, mark);
  await w.health(200);
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "after" });
  await aliceSees(w, "[qq] 小明: after");
  await w.alice.say(w.room, "x-after");
  const sent = await w.sim.waitForSent(GROUP, 2, AbortSignal.timeout(TIMEOUT));

  // Sentinels, then count: each message exactly once, in order.
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "sentinel" });
  await aliceSees(w, "[qq] 小明: sentinel");
  await w.alice.say(w.room, "x-sentinel");
  await w.sim.waitForSent(GROUP, 3, AbortSignal.timeout(TIMEOUT));
  // A format change restarts nothing: the message said on each side during the reload arrives
  // exactly once (in whichever format was in force when it was taken in), in order.
  const seen = fromBridge(w).map((b) => b.replace(/^<小明> |^\[qq\] 小明: /, ""));
  assert.deepEqual(seen, ["before", "still", "around", "after", "sentinel"], JSON.stringify(fromBridge(w)));
  const toQq = w.sim.sent(GROUP).map((m) => m.text.replace(/^<alice> |^\[xmpp\] alice: /, ""));
  assert.deepEqual(toQq, ["x-around", "x-after", "x-sentinel"], JSON.stringify(sent));
  assert.deepEqual(w.sim.violations, []);
  assert.match(bridge.output(), /config reloaded: bridges applied live/);
  assert.doesNotMatch(bridge.output().slice(mark), /pollbridge running|fresh session: joining every room/, "nothing restarted");

  // The figure worth knowing: how long a live reload takes (SIGHUP to applied).
  const times = (msg: string) => bridge.output().split("\n").filter((l) => l.includes(`"msg":"${msg}`)).map((l) => (JSON.parse(l) as { time: number }).time);
  const hup = times("SIGHUP: re-reading the config").at(-1)!;
  const applied = times("config reloaded").at(-1)!;
  t.diagnostic(`reload: ${applied - hup} ms from SIGHUP to the new config in force`);

  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0, bridge.output().slice(-2000));
  assert.ok(!existsSync(pidFile), "the pid file goes with the process");
  assert.match((await reload(w)).out, /no running bridge/);
});

test("reload: a changed network restarts only its adapter, a changed XMPP account only the XMPP client, changed metrics auth only the metrics server; messages said meanwhile arrive exactly once", async (t) => {
  const w = await startWorld(t);
  const bridge = w.spawnBridge();
  await w.bridgeInRoom();
  await w.health(200);
  const good = await readFile(w.configPath, "utf8");
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "before" });
  await aliceSees(w, "<小明> before");
  const qrs = w.sim.state.counters.qrShown;

  // Three parts change: the network's send gap, the XMPP client's self-ping interval, and the
  // metrics server's auth.
  assert.equal((await fetch(`${w.metricsUrl}/metrics`)).status, 200);
  const metricsAuth = `auth: { user: ops, password: "pw-${process.pid}-metrics" }`;
  await writeFile(
    w.configPath,
    good
      .replace("send_interval: 50", "send_interval: 60")
      .replace("self_ping_interval: 2000", "self_ping_interval: 2500")
      .replace(/metrics: \{ listen: ("[^"]+") \}/, `metrics: { listen: $1, ${metricsAuth} }`),
  );
  const mark = bridge.output().length;
  bridge.child.kill("SIGHUP");
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "around" });
  await w.alice.say(w.room, "x-around");
  await logged(bridge, /config reloaded: networks restarted: qq; XMPP client restarted; metrics server restarted/, mark);
  await w.health(200);
  assert.equal((await fetch(`${w.metricsUrl}/metrics`)).status, 401, "the restarted metrics server asks for the new auth");
  const basic = `Basic ${Buffer.from(`ops:pw-${process.pid}-metrics`).toString("base64")}`;
  assert.equal((await fetch(`${w.metricsUrl}/metrics`, { headers: { authorization: basic } })).status, 200);

  // Sentinels, then count.
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "sentinel" });
  await aliceSees(w, "<小明> sentinel");
  await w.alice.say(w.room, "x-sentinel");
  await w.sim.waitForSent(GROUP, 2, AbortSignal.timeout(TIMEOUT));
  const seen = fromBridge(w).map((b) => b.replace(/^<小明> /, ""));
  assert.deepEqual(seen, ["before", "around", "sentinel"], JSON.stringify(fromBridge(w)));
  const toQq = w.sim.sent(GROUP).map((m) => m.text.replace(/^\[\d{4}-\d\d-\d\d \d\d:\d\d UTC\] /, "").replace(/^<alice> /, ""));
  assert.deepEqual(toQq, ["x-around", "x-sentinel"]);
  assert.deepEqual(w.sim.violations, []);
  assert.equal(w.sim.state.counters.qrShown, qrs, "the restarted WebQQ adapter reuses its saved session: no new QR");
  assert.doesNotMatch(bridge.output().slice(mark), /pollbridge running/, "the bridge itself did not restart");
  const times = (msg: string) => bridge.output().split("\n").filter((l) => l.includes(`"msg":"${msg}`)).map((l) => (JSON.parse(l) as { time: number }).time);
  t.diagnostic(`reload with restarts: ${times("config reloaded").at(-1)! - times("SIGHUP: re-reading the config").at(-1)!} ms from SIGHUP to the new config in force`);

  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0, bridge.output().slice(-2000));
});
