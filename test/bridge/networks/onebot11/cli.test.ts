// End to end through the CLI over each WebSocket transport: `pollbridge run` as a child process
// between a real Prosody room and the OneBot 11 simulator (NapCat flavor, no HTTP API: actions on
// the socket). Both directions exactly once; then a kill -9, messages said in the group while
// the bridge is down, and a restart that catches them up from history once.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { freePort, startProsody } from "../../../helpers/prosody.ts";
import { XmppUser } from "../../../helpers/xmpp-user.ts";
import { startOnebot11Sim } from "../../../sim/onebot11.ts";
import { spawnPollbridge } from "../../../e2e/world.ts";

const GROUP = 123456;
const within = () => AbortSignal.timeout(30_000);

/** Polls /healthz (the process's only outside view of itself) until it answers 200. */
async function healthy(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < until) {
    try {
      const res = await fetch(`${url}/healthz`);
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100)); // polling an outside view, not synchronising on time
  }
  throw new Error(`/healthz not 200 within ${timeoutMs} ms; last: ${last}`);
}

/** Polls /metrics until the outbox is empty: every send was answered and committed. */
async function drained(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (/^pollbridge_outbox_depth 0$/m.test(text)) return;
    await new Promise((r) => setTimeout(r, 100)); // polling an outside view, not synchronising on time
  }
  throw new Error("the outbox did not drain");
}

async function cliRun(t: TestContext, transport: "ws" | "ws-reverse"): Promise<void> {
  const passwords = { bridge: `pw-${randomBytes(9).toString("hex")}`, alice: `pw-${randomBytes(9).toString("hex")}` };
  const prosody = await startProsody({ users: passwords });
  t.after(() => prosody.stop());
  const sim = await startOnebot11Sim({ flavor: "napcat", heartbeatMs: 500, groups: [{ id: GROUP }] });
  t.after(() => sim.close());
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-ob11-cli-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const room = `ob@${prosody.muc}`;
  const [metricsPort, reversePort] = [await freePort(), await freePort()];
  const network = transport === "ws"
    ? `  ob: { type: onebot11, events: ws, ws: "${sim.wsUrl}", access_token: "\${OB_TOKEN}" }`
    : `  ob: { type: onebot11, events: ws-reverse, ws_reverse: { listen: "127.0.0.1:${reversePort}" }, access_token: "\${OB_TOKEN}" }`;
  const config = join(dir, "pollbridge.yaml");
  await writeFile(config, [
    "state_dir: ./state",
    "log: { level: debug }",
    `metrics: { listen: "127.0.0.1:${metricsPort}" }`,
    "xmpp:",
    `  jid: bridge@${prosody.domain}`,
    "  password: ${XMPP_PASSWORD}",
    `  service: ${prosody.service}`,
    "  nick: relay",
    "  sasl_mechanism: PLAIN",
    "networks:",
    network,
    "bridges:",
    `  - xmpp: ${room}`,
    `    ob: ${GROUP}`,
    "",
  ].join("\n"), { mode: 0o600 });
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, OB_TOKEN: sim.token ?? "", POLLBRIDGE_CONFIG: "" };
  const alice = await XmppUser.connect(prosody, "alice", passwords.alice);
  t.after(() => alice.stop());
  await alice.join(room, "alice");
  if (transport === "ws-reverse") sim.connectReverse({ url: `ws://127.0.0.1:${reversePort}`, reconnectMs: 100 });

  const first = spawnPollbridge(t, ["run", "-c", config], env);
  await healthy(`http://127.0.0.1:${metricsPort}`);
  sim.inject({ group: GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi" }, message: "from the group" });
  await alice.waitFor((m) => m.body === "<Obi> from the group", 30_000);
  await alice.say(room, "from the room");
  assert.equal((await sim.waitForSent(GROUP, 1, within()))[0]!.text, "<alice> from the room");
  // Killed once the send was committed (a kill during a send is the relay's settling, branch core).
  await drained(`http://127.0.0.1:${metricsPort}`);

  first.child.kill("SIGKILL");
  await first.exited;
  sim.inject({ group: GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi" }, message: "while down 1" });
  sim.inject({ group: GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi" }, message: "while down 2" });
  const second = spawnPollbridge(t, ["run", "-c", config], env);
  await alice.waitFor((m) => m.body === "<Obi> while down 2", 30_000);
  await healthy(`http://127.0.0.1:${metricsPort}`);
  sim.inject({ group: GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi" }, message: "sentinel" });
  await alice.waitFor((m) => m.body === "<Obi> sentinel", 30_000);

  const relayed = alice.messages.filter((m) => m.nick === "relay").map((m) => m.body);
  assert.deepEqual(relayed, ["<Obi> from the group", "<Obi> while down 1", "<Obi> while down 2", "<Obi> sentinel"]);
  assert.equal(sim.sent(GROUP).length, 1);
  assert.deepEqual(sim.violations, []);
  second.child.kill("SIGTERM");
  assert.equal((await second.exited).code, 0, second.output().slice(-2000));
  const logs = first.output() + second.output();
  for (const secret of [passwords.bridge, sim.token ?? ""]) assert.ok(secret === "" || !logs.includes(secret), "a secret appears in the logs");
  assert.match(logs, /NapCat/); // the profile, logged at start
}

test("CLI over a forward WebSocket (events: ws, no api): both ways once; kill -9, messages while down caught up once", { timeout: 90_000 }, (t) => cliRun(t, "ws"));
test("CLI over a reverse WebSocket (events: ws-reverse): both ways once; kill -9, messages while down caught up once", { timeout: 90_000 }, (t) => cliRun(t, "ws-reverse"));
