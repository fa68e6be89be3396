// End to end: `pollbridge run` as a child process between the WebQQ simulator and a real Prosody.
import assert from "node:assert/strict";
import { test } from "node:test";
import { GROUP, MEMBER, startWorld, type World } from "./world.ts";

const TIMEOUT = 30_000;
const within = () => AbortSignal.timeout(TIMEOUT);

/** Bodies alice saw from the bridge's occupant, live, in order. */
function fromBridge(w: World): string[] {
  return w.alice.messages.filter((m) => m.nick === "qq" && !m.delayed).map((m) => m.body);
}

async function aliceSeesFromBridge(w: World, n: number): Promise<string[]> {
  await w.alice.waitFor(() => fromBridge(w).length >= n || undefined, TIMEOUT);
  return fromBridge(w);
}

test("both directions in order, exactly once, with faces, Chinese and XML-special text intact", async (t) => {
  const w = await startWorld(t);
  const bridge = w.spawnBridge();
  await w.bridgeInRoom();
  await w.health(200);

  const qq = ["第一条 <b>bold</b> & \"quoted\" 'single'", "second ]]> <![CDATA[x]]>", "third &amp; &lt;"];
  w.sim.inject({ group: GROUP, sender: MEMBER, content: [qq[0]!, ["face", 14], " 笑"] });
  w.sim.inject({ group: GROUP, sender: MEMBER, content: qq[1]! });
  w.sim.inject({ group: GROUP, sender: MEMBER, content: qq[2]! });
  const seen = await aliceSeesFromBridge(w, 3);
  assert.equal(seen.length, 3);
  assert.match(seen[0]!, /^<小明> 第一条 <b>bold<\/b> & "quoted" 'single'.+ 笑$/);
  assert.ok(!seen[0]!.includes("[\"face\""), "the face is rendered readably, not as JSON");
  assert.equal(seen[1], `<小明> ${qq[1]}`);
  assert.equal(seen[2], `<小明> ${qq[2]}`);

  const xmpp = ["你好 from XMPP <i>&</i>", "two > one", "three 😀"];
  for (const body of xmpp) await w.alice.say(w.room, body);
  const sent = await w.sim.waitForSent(GROUP, 3, within());
  assert.deepEqual(sent.map((m) => m.text), xmpp.map((b) => `<alice> ${b}`));

  // A sentinel each way: order per target is preserved, so a duplicate of anything earlier
  // would have arrived before it.
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "sentinel-qq" });
  await w.alice.say(w.room, "sentinel-xmpp");
  await w.sim.waitForSent(GROUP, 4, within());
  await aliceSeesFromBridge(w, 4);
  assert.equal(fromBridge(w).length, 4);
  assert.equal(w.sim.sent(GROUP).length, 4);
  assert.deepEqual(w.sim.violations, []);

  // What an operator's Prometheus sees: relayed counts both ways, poll latency, the outbox.
  const metrics = await (await fetch(`${w.metricsUrl}/metrics`)).text();
  assert.match(metrics, new RegExp(`pollbridge_messages_relayed_total\\{bridge="${w.room}",target="xmpp:${w.room}"\\} 4`));
  assert.match(metrics, new RegExp(`pollbridge_messages_relayed_total\\{bridge="${w.room}",target="net:qq:${GROUP}"\\} 4`));
  const polls = Number(/pollbridge_poll_latency_seconds_count\{network="qq"\} (\d+)/.exec(metrics)?.[1]);
  assert.ok(polls >= 1, `poll2 answers observed: ${polls}`);
  assert.match(metrics, /pollbridge_outbox_depth 0/);

  bridge.child.kill("SIGTERM");
  const exit = await bridge.exited;
  assert.equal(exit.code, 0, `SIGTERM drains and exits 0\n${bridge.output().slice(-2000)}`);
  assertNoSecrets(w);
});

test("session loss (121) and ptwebqq rotation (116) mid-stream lose nothing", async (t) => {
  const w = await startWorld(t);
  w.spawnBridge();
  await w.bridgeInRoom();

  w.sim.failNextPoll("116");
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "after rotation" });
  await aliceSeesFromBridge(w, 1);

  const logins = w.sim.state.counters.login2;
  w.sim.failNextPoll("121");
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "after relogin" });
  await w.sim.waitForLogins(logins + 1, within());
  await aliceSeesFromBridge(w, 2);
  // gids changed at the new login: sending must use the re-resolved group.
  await w.alice.say(w.room, "to the new session");
  const [sent] = await w.sim.waitForSent(GROUP, 1, within());
  assert.equal(sent!.text, "<alice> to the new session");
  assert.deepEqual(fromBridge(w), ["<小明> after rotation", "<小明> after relogin"]);
  assert.deepEqual(w.sim.violations, []);
  assertNoSecrets(w);
});

test("kill -9 with messages queued, Prosody down meanwhile: the next run delivers all once and catches up the room", async (t) => {
  const w = await startWorld(t);
  const first = w.spawnBridge();
  await w.bridgeInRoom();
  await w.health(200);
  // One live message so the bridge knows where the room stood (catch-up starts there).
  await w.alice.say(w.room, "before the crash");
  await w.sim.waitForSent(GROUP, 1, within());

  // The room's server goes away: QQ messages can only be queued.
  await w.prosody.stop({ keepDir: true });
  await w.health(503);
  for (const n of [1, 2, 3]) w.sim.inject({ group: GROUP, sender: MEMBER, content: `queued ${n}` });
  await w.sim.waitForDelivered(within());
  await w.nextPoll(); // the client re-armed poll2: the three are committed to the outbox
  first.child.kill("SIGKILL");
  await first.exited;

  // Prosody back; while the bridge is still dead, alice says something it must catch up.
  await w.prosody.start();
  await w.reconnectAlice();
  await w.alice.say(w.room, "while the bridge was down");

  w.spawnBridge();
  const seen = await aliceSeesFromBridge(w, 3);
  assert.deepEqual(seen, ["<小明> queued 1", "<小明> queued 2", "<小明> queued 3"]);
  const sent = await w.sim.waitForSent(GROUP, 2, within());
  assert.match(sent[1]!.text, /<alice> while the bridge was down/);
  assert.match(sent[1]!.text, /\d\d:\d\d/, "a caught-up message carries its original time");

  // Sentinels: nothing queued arrives a second time.
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "sentinel" });
  await aliceSeesFromBridge(w, 4);
  await w.alice.say(w.room, "sentinel-xmpp");
  await w.sim.waitForSent(GROUP, 3, within());
  assert.deepEqual(fromBridge(w), ["<小明> queued 1", "<小明> queued 2", "<小明> queued 3", "<小明> sentinel"]);
  assert.equal(w.sim.sent(GROUP).length, 3);
  assertNoSecrets(w);
});

test("Prosody restart: /healthz says 503 while it is down, the bridge rejoins, 200 again, messages flow", async (t) => {
  const w = await startWorld(t);
  w.spawnBridge();
  await w.bridgeInRoom();
  await w.health(200);

  await w.prosody.stop({ keepDir: true });
  const down = (await w.health(503)) as { ok: boolean; rooms: Record<string, { state: string }> };
  assert.equal(down.ok, false);
  assert.notEqual(down.rooms[w.room]?.state, "joined");

  await w.prosody.start();
  await w.reconnectAlice();
  await w.bridgeInRoom();
  await w.health(200);
  w.sim.inject({ group: GROUP, sender: MEMBER, content: "after the restart" });
  assert.deepEqual(await aliceSeesFromBridge(w, 1), ["<小明> after the restart"]);
  await w.alice.say(w.room, "and back");
  assert.equal((await w.sim.waitForSent(GROUP, 1, within()))[0]!.text, "<alice> and back");
  assertNoSecrets(w);
});

/** No password, cookie or session id in anything the bridge wrote, at debug level. */
function assertNoSecrets(w: World): void {
  const logs = w.logs();
  assert.ok(logs.length > 0, "the bridge logged something");
  for (const secret of [w.passwords.bridge, ...w.sim.state.secrets]) {
    assert.ok(!logs.includes(secret), `a secret (${secret.slice(0, 4)}…) appears in the logs`);
  }
}
