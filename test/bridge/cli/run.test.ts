// run() wired for real: a Prosody, the real MucClient, the SQLite outbox in a temp state dir,
// /metrics and /healthz on a loopback port, and a memory network in place of WebQQ.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { run } from "../../../bridge/cli/run.ts";
import type { Config } from "../../../bridge/config/types.ts";
import { MemoryNetwork } from "../../helpers/memory-network.ts";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { XmppUser } from "../../helpers/xmpp-user.ts";

const skip = await prosodyMissing();
const ROOM = "dev@conference.localhost";
let server: ProsodyServer;
let alice: XmppUser;
let stateDir: string;
let logText = "";

before(async () => {
  if (skip) return;
  stateDir = mkdtempSync(join(tmpdir(), "pb-run-"));
  server = await startProsody({ users: { bridge: "bridgepw-secret", alice: "alicepw" } });
  alice = await XmppUser.connect(server, "alice", "alicepw");
  await alice.join(ROOM, "alice");
});
after(async () => {
  await alice?.stop();
  await server?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

function config(password = "bridgepw-secret"): Config {
  return {
    path: join(stateDir, "pollbridge.yaml"),
    state_dir: stateDir,
    log: { level: "debug" },
    metrics: { listen: "127.0.0.1:0" },
    xmpp: { jid: "bridge@localhost", password, service: server.service, nick: "bridge", verify_tls: false, sasl_mechanism: "PLAIN" },
    networks: { qq: { type: "webqq" } },
    bridges: [{ xmpp: ROOM, format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev" }] }],
    relay: { drain_timeout: 5000 },
  };
}

function logger() {
  return pino(
    { level: "debug" },
    new Writable({
      write(chunk, _enc, cb) {
        logText += chunk.toString();
        cb();
      },
    }),
  );
}

function startRun(qq: MemoryNetwork, cfg = config()) {
  const ac = new AbortController();
  let ready!: (info: { metricsUrl?: string }) => void;
  const readyInfo = new Promise<{ metricsUrl?: string }>((r) => (ready = r));
  const done = run(cfg, { logger: logger(), signal: ac.signal, onReady: ready, networks: { qq }, xmpp: { reconnect: { min: 20, max: 200 } } });
  return { ac, readyInfo, done };
}

test("run relays both ways, reports health and metrics, and exits 0 after the drain", { skip, timeout: 30_000 }, async () => {
  const qq = new MemoryNetwork({ id: "qq", groups: ["Dev"] });
  const r = startRun(qq);
  const { metricsUrl } = await r.readyInfo;
  assert.ok(metricsUrl);

  await qq.push({ group: "Dev", text: "hi from qq", senderName: "bob" });
  await alice.waitFor((m) => m.body === "<bob> hi from qq" && m); // the bridge is in the room now
  await alice.say(ROOM, "hello qq");
  assert.deepEqual((await qq.waitForSent(1)).map((m) => [m.group, m.text]), [["Dev", "<alice> hello qq"]]);

  const healthy = await fetch(`${metricsUrl}/healthz`);
  assert.equal(healthy.status, 200);
  assert.equal(((await healthy.json()) as { ok: boolean }).ok, true);
  qq.setOnline(false);
  const down = await fetch(`${metricsUrl}/healthz`);
  assert.equal(down.status, 503);
  assert.equal(((await down.json()) as { networks: Record<string, { ok: boolean }> }).networks.qq?.ok, false);
  qq.setOnline(true);

  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  assert.match(text, new RegExp(`pollbridge_messages_relayed_total\\{bridge="${ROOM}",target="xmpp:${ROOM}"\\} 1`));
  assert.match(text, new RegExp(`pollbridge_messages_relayed_total\\{bridge="${ROOM}",target="net:qq:Dev"\\} 1`));

  r.ac.abort();
  assert.equal(await r.done, 0);
  assert.ok(!logText.includes("bridgepw-secret"), "the XMPP password never reaches the logs");
});

test("after a restart, what was said in the room meanwhile is relayed once, with its time", { skip, timeout: 30_000 }, async () => {
  await alice.say(ROOM, "while away");
  const qq = new MemoryNetwork({ id: "qq", groups: ["Dev"] });
  const r = startRun(qq);
  await r.readyInfo;
  const [first] = await qq.waitForSent(1);
  assert.match(first?.text ?? "", /^\[\d{4}-\d\d-\d\d \d\d:\d\d UTC\] <alice> while away$/);
  await alice.say(ROOM, "live again");
  // Neither "hello qq" (relayed by the first run) nor our own "<bob> hi from qq" comes back.
  assert.deepEqual((await qq.waitForSent(2)).map((m) => m.text).slice(1), ["<alice> live again"]);
  r.ac.abort();
  assert.equal(await r.done, 0);
  assert.equal(alice.messages.filter((m) => m.body === "<bob> hi from qq").length, 1, "nothing was resent to the room");
});

test("a refused XMPP login is a runtime failure: exit code 2", { skip, timeout: 30_000 }, async () => {
  const qq = new MemoryNetwork({ id: "qq", groups: ["Dev"] });
  const r = startRun(qq, config("wrong-password"));
  assert.equal(await r.done, 2);
  assert.equal(qq.status().state, "stopped", "the networks were stopped");
  assert.match(logText, /XMPP authentication failed for bridge@localhost/);
});
