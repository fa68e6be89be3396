// End to end through the CLI: `pollbridge run` between real Prosody rooms and the QQ bot
// simulator (a guild channel bridged to one room, a group to another). The group takes only
// replies, so what its room says waits in the outbox until someone @-mentions the bot, and
// /healthz says it waits. A kill -9 while it waits loses nothing; the next run delivers it once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startProsody } from "../../../helpers/prosody.ts";
import { XmppUser } from "../../../helpers/xmpp-user.ts";
import { startQqbotSim } from "../../../sim/qqbot.ts";
import { spawnPollbridge, testPasswords, xmppSection } from "../../../e2e/world.ts";

const OPENID = "G0A1B2C3D4E5F60718293A4B5C6D7E8F";
const GROUP = `group:${OPENID}`;
const within = () => AbortSignal.timeout(30_000);

type Health = { ok: boolean; networks: Record<string, { ok: boolean; state: string; detail?: string }> };

/** Polls /healthz (the process's outside view) until `check` holds. */
async function health(base: string, check: (body: Health) => boolean): Promise<Health> {
  const until = Date.now() + 30_000;
  let last = "no answer";
  while (Date.now() < until) {
    try {
      const body = (await (await fetch(`${base}/healthz`)).json()) as Health;
      if (check(body)) return body;
      last = JSON.stringify(body);
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100)); // polling an outside view, not synchronising on time
  }
  throw new Error(`/healthz never matched; last: ${last}`);
}

test("CLI: rooms ↔ QQ bot channel and group; the group's message waits for a reply window, survives kill -9, goes out once", { timeout: 120_000 }, async (t) => {
  const passwords = testPasswords();
  const prosody = await startProsody({ users: passwords });
  t.after(() => prosody.stop());
  // A public bot: GUILD_MESSAGES is refused and the bridge falls back to the channel's @-messages.
  const sim = await startQqbotSim({ privateBot: false, heartbeatIntervalMs: 2_000, groups: [OPENID] });
  t.after(() => sim.close());
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-e2e-qqbot-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const chanRoom = `chan@${prosody.muc}`;
  const grpRoom = `grp@${prosody.muc}`;
  const metrics = `127.0.0.1:${await freePort()}`;
  const config = join(dir, "pollbridge.yaml");
  await writeFile(
    config,
    [
      "state_dir: ./state",
      "log: { level: debug }",
      `metrics: { listen: "${metrics}" }`,
      ...xmppSection(prosody, "relay"),
      "networks:",
      "  qb:",
      "    type: qqbot",
      `    app_id: ${sim.appId}`,
      '    secret: "${QQBOT_SECRET}"',
      `    api: "${sim.url}"`,
      `    token_url: "${sim.tokenUrl}"`,
      "relay: { drain_timeout: 2000 }",
      "bridges:",
      `  - xmpp: ${chanRoom}`,
      `    qb: "channel:1001"`,
      `  - xmpp: ${grpRoom}`,
      `    qb: "${GROUP}"`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, QQBOT_SECRET: sim.secret, POLLBRIDGE_CONFIG: "" };
  const alice = await XmppUser.connect(prosody, "alice", passwords.alice);
  t.after(() => alice.stop());
  await alice.join(chanRoom, "alice");
  await alice.join(grpRoom, "alice");
  const base = `http://${metrics}`;

  let bridge = spawnPollbridge(t, ["run", "-c", config], env);
  await health(base, (h) => h.ok);
  await alice.say(grpRoom, "from xmpp, first run");
  // The group has no window: the message waits, /healthz says so (and stays 200: nothing is down).
  const waiting = await health(base, (h) => /group:\w+: waiting for a reply window/.test(h.networks.qb?.detail ?? ""));
  assert.equal(waiting.ok, true);
  assert.match(waiting.networks.qb?.detail ?? "", /group:\w+: 1 queued/, "health says how many messages wait");
  assert.equal(sim.state.counters.sends, 0, "nothing was asked of the server");

  bridge.child.kill("SIGKILL");
  await bridge.exited;
  const firstLogs = bridge.output();

  bridge = spawnPollbridge(t, ["run", "-c", config], env);
  await health(base, (h) => h.ok);
  // Someone @-mentions the bot: the room sees it, and the waiting message goes out as a reply.
  const at = sim.sayInGroup(OPENID, "MEMBER_OPENID_1", "from the group");
  await alice.waitFor((m) => (m.nick === "relay" && m.body === "<MEMBER_OPENID_1> from the group") || undefined, 30_000);
  const [reply] = await sim.waitForSent(GROUP, 1, within());
  assert.deepEqual([reply!.text, reply!.msgId, reply!.msgSeq], ["<alice> from xmpp, first run", at, 1]);

  // The channel: an @-message reaches its room; the room's answer goes back as a passive reply.
  const chanMsg = sim.sayInChannel("1001", { id: "777", username: "guildie", nick: "Guild Nick" }, "from the channel", { at: true });
  await alice.waitFor((m) => (m.nick === "relay" && m.body === "<Guild Nick> from the channel") || undefined, 30_000);
  await alice.say(chanRoom, "to the channel <&>");
  const [toChannel] = await sim.waitForSent("channel:1001", 1, within());
  assert.deepEqual([toChannel!.text, toChannel!.msgId], ["<alice> to the channel <&>", chanMsg]);

  // Exactly once: a sentinel after everything, then count.
  await alice.say(grpRoom, "sentinel");
  await sim.waitForSent(GROUP, 2, within());
  assert.deepEqual(sim.sent(GROUP).map((m) => [m.text, m.msgSeq]), [["<alice> from xmpp, first run", 1], ["<alice> sentinel", 2]]);
  assert.equal(alice.messages.filter((m) => m.nick === "relay").length, 2);
  assert.deepEqual(sim.violations, []);

  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0, bridge.output().slice(-2000));
  const logs = firstLogs + bridge.output();
  for (const secret of [passwords.bridge, sim.secret, ...sim.state.tokens.keys()]) assert.ok(!logs.includes(secret), `a secret (${secret.slice(0, 4)}…) appears in the logs`);
});

test("CLI, webhook mode: the platform validates the callback (op 13), a group's @-message reaches the room, the room's answer goes back as a reply", { timeout: 120_000 }, async (t) => {
  const passwords = testPasswords();
  const prosody = await startProsody({ users: passwords });
  t.after(() => prosody.stop());
  const sim = await startQqbotSim({ groups: [OPENID] });
  t.after(() => sim.close());
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-e2e-qqbot-hook-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const room = `hook@${prosody.muc}`;
  const metrics = `127.0.0.1:${await freePort()}`;
  const hook = `127.0.0.1:${await freePort()}`;
  const config = join(dir, "pollbridge.yaml");
  await writeFile(
    config,
    [
      "state_dir: ./state",
      "log: { level: debug }",
      `metrics: { listen: "${metrics}" }`,
      ...xmppSection(prosody, "relay"),
      "networks:",
      `  qb: { type: qqbot, app_id: "${sim.appId}", secret: "\${QQBOT_SECRET}", events: webhook, webhook: { listen: "${hook}", path: /qq/callback }, api: "${sim.url}", token_url: "${sim.tokenUrl}" }`,
      "bridges:",
      `  - xmpp: ${room}`,
      `    qb: "${GROUP}"`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, QQBOT_SECRET: sim.secret, POLLBRIDGE_CONFIG: "" };
  const alice = await XmppUser.connect(prosody, "alice", passwords.alice);
  t.after(() => alice.stop());
  await alice.join(room, "alice");
  const bridge = spawnPollbridge(t, ["run", "-c", config], env);
  await health(`http://${metrics}`, (h) => h.ok);
  sim.webhook.url = `http://${hook}/qq/callback`;
  assert.equal((await sim.webhook.validate()).ok, true);
  const at = sim.sayInGroup(OPENID, "MEMBER_OPENID_9", "over the webhook", { username: "Nine" });
  await alice.waitFor((m) => (m.nick === "relay" && m.body === "<Nine> over the webhook") || undefined, 30_000);
  await alice.say(room, "answer");
  const [sent] = await sim.waitForSent(GROUP, 1, within());
  assert.deepEqual([sent!.text, sent!.msgId], ["<alice> answer", at]);
  const delivered = await Promise.all([...sim.webhook.deliveries.keys()].map((id) => sim.webhook.waitDelivered(id, within())));
  assert.ok(delivered.length >= 1 && delivered.every((d) => d.acked && d.attempts === 1));
  assert.deepEqual(sim.violations, []);
  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0, bridge.output().slice(-2000));
  const logs = bridge.output();
  for (const secret of [passwords.bridge, sim.secret, ...sim.state.tokens.keys()]) assert.ok(!logs.includes(secret), `a secret (${secret.slice(0, 4)}…) appears in the logs`);
});
