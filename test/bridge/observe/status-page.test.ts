// The status page's server side: auth, /status.json from real parts (outbox file, recorder), the QR.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { BridgeMetrics } from "../../../bridge/observe/metrics.ts";
import { startObserveServer } from "../../../bridge/observe/server.ts";
import { ActivityRecorder, RECENT_MAX } from "../../../bridge/observe/recorder.ts";
import { buildStatus, qrPending, type StatusReport } from "../../../bridge/observe/status.ts";
import { Outbox, type OutboxItem } from "../../../bridge/store/outbox.ts";
import type { RelayHealth } from "../../../bridge/relay/relay.ts";
import { createLogger } from "../../../bridge/log.ts";
import { parseConfig } from "../../../bridge/config/load.ts";

const logger = createLogger({ level: "silent", format: "json", destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const ROOM = "dev@conference.example.org";
const config = {
  networks: { qq: { type: "webqq" as const } },
  bridges: [{ xmpp: ROOM, format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev" }] }],
};

async function world(t: import("node:test").TestContext, state: string, auth?: { user: string; password: string }) {
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-status-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const outbox = new Outbox(join(dir, "outbox.sqlite"));
  t.after(() => outbox.close());
  const recorder = new ActivityRecorder({ scrub: (s) => s.replaceAll("hunter2", "[Redacted]") });
  const health = (): RelayHealth => ({ ok: state === "online", networks: { qq: { ok: state === "online", state, detail: "polling http://u:hunter2@sim/poll" } }, rooms: { [ROOM]: { state: "joined" } }, outbox: { depth: outbox.depth() } });
  const sources = { config: config as never, health, outbox, recorder, scrub: (s: string) => s.replaceAll("hunter2", "[Redacted]") };
  const qr = join(dir, "qr.png");
  await writeFile(qr, Buffer.from("\x89PNG fake"));
  const server = await startObserveServer("127.0.0.1:0", {
    metrics: new BridgeMetrics(),
    health,
    logger,
    auth,
    page: { status: () => buildStatus(sources), qrFile: (n) => (qrPending(sources, n) ? qr : undefined) },
  });
  t.after(() => server.close());
  return { outbox, recorder, url: server.url };
}

test("/status.json: networks, rooms, per-bridge counts, outbox per target, recent relays with secrets scrubbed", async (t) => {
  const w = await world(t, "online");
  const items = w.outbox.accept({ sourceKey: "net:qq:1", items: [{ bridge: ROOM, target: `xmpp:${ROOM}`, text: "<b>hi</b> my password is hunter2", sender: "小明" }], roomSeen: { room: ROOM, time: new Date(1_700_000_000_000) } })!;
  w.outbox.accept({ sourceKey: "xmpp:r:2", items: [{ bridge: ROOM, target: "net:qq:Dev", text: "queued", sender: "alice" }] });
  w.outbox.markDelivered(items[0]!.id);
  w.recorder.delivered(w.outbox.get(items[0]!.id)!);
  w.recorder.delivered(w.outbox.get(items[0]!.id)!); // its echo settles it again: counted once
  w.recorder.networkEvent("qq");
  const s = (await (await fetch(`${w.url}/status.json`)).json()) as StatusReport;
  assert.equal(s.networks.qq!.state, "online");
  assert.equal(s.networks.qq!.type, "webqq");
  assert.ok(s.networks.qq!.last_event);
  assert.equal(s.networks.qq!.detail, "polling http://u:[Redacted]@sim/poll");
  assert.equal(s.networks.qq!.qr, undefined);
  assert.equal(s.rooms[ROOM]!.state, "joined");
  assert.equal(s.rooms[ROOM]!.last_seen, new Date(1_700_000_000_000).toISOString());
  assert.deepEqual(s.bridges[0]!.relayed_last_hour, { to_xmpp: 1, to_network: 0 });
  assert.deepEqual(s.bridges[0]!.targets, [
    { target: `xmpp:${ROOM}`, pending: 0, dead_letters: 0 },
    { target: "net:qq:Dev", pending: 1, dead_letters: 0 },
  ]);
  assert.equal(s.recent.length, 1);
  assert.equal(s.recent[0]!.text, "<b>hi</b> my password is [Redacted]");
  assert.equal(s.recent[0]!.from, "qq");
  assert.equal(s.recent[0]!.sender, "小明");
});

test("the recorder keeps the last 20 relays and shortens long text", () => {
  const r = new ActivityRecorder();
  for (let i = 1; i <= 25; i++) r.delivered({ id: i, bridge: "b", target: "net:qq:g", sourceKey: "xmpp:b:x", text: "x".repeat(500), sender: "s" } as OutboxItem);
  const recent = r.recent();
  assert.equal(recent.length, RECENT_MAX);
  assert.ok(recent[0]!.text.length <= 140 && recent[0]!.text.endsWith("…"));
  assert.deepEqual(r.relayedLastHour("b"), { to_xmpp: 0, to_network: 25 });
});

test("the page is self-contained and phone-ready; the QR is served only while the login is pending", async (t) => {
  const w = await world(t, "login-required");
  const res = await fetch(`${w.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /text\/html/);
  assert.match(res.headers.get("content-security-policy")!, /default-src 'none'/);
  const html = await res.text();
  assert.match(html, /<meta name="viewport" content="width=device-width/);
  assert.doesNotMatch(html, /https?:\/\//, "no outside resources");
  assert.doesNotMatch(html, /innerHTML|insertAdjacentHTML|document\.write/, "text goes in as text");
  const s = (await (await fetch(`${w.url}/status.json`)).json()) as StatusReport;
  assert.equal(s.networks.qq!.qr, "/qr/qq.png");
  const qr = await fetch(`${w.url}${s.networks.qq!.qr}`);
  assert.equal(qr.status, 200);
  assert.equal(qr.headers.get("content-type"), "image/png");
  assert.equal((await fetch(`${w.url}/qr/other.png`)).status, 404);
  assert.equal((await fetch(`${w.url}/qr/%E0%A4%A.png`)).status, 404);
});

test("no QR while the network is online", async (t) => {
  const w = await world(t, "online");
  assert.equal((await fetch(`${w.url}/qr/qq.png`)).status, 404);
});

test("metrics.auth protects /, /status.json, /metrics and the QR; /healthz stays open with its status only", async (t) => {
  const w = await world(t, "login-required", { user: "ops", password: "s3cret" });
  for (const path of ["/", "/status.json", "/metrics", "/qr/qq.png"]) {
    const res = await fetch(`${w.url}${path}`);
    assert.equal(res.status, 401, path);
    assert.match(res.headers.get("www-authenticate")!, /^Basic realm="pollbridge"/);
    const wrong = await fetch(`${w.url}${path}`, { headers: { authorization: `Basic ${Buffer.from("ops:nope").toString("base64")}` } });
    assert.equal(wrong.status, 401, path);
    const right = await fetch(`${w.url}${path}`, { headers: { authorization: `Basic ${Buffer.from("ops:s3cret").toString("base64")}` } });
    assert.equal(right.status, 200, path);
  }
  const open = await fetch(`${w.url}/healthz`);
  assert.equal(open.status, 503);
  assert.deepEqual(await open.json(), { ok: false });
  const full = await fetch(`${w.url}/healthz`, { headers: { authorization: `Basic ${Buffer.from("ops:s3cret").toString("base64")}` } });
  assert.equal(((await full.json()) as RelayHealth).networks.qq!.state, "login-required");
});

test("check: a metrics listener beyond loopback needs auth or an explicit insecure_no_auth", () => {
  const base = (metrics: string) =>
    [`state_dir: ./s`, `metrics: ${metrics}`, `xmpp: { jid: bridge@example.org, password: x }`, `networks: { qq: { type: webqq } }`, `bridges:`, `  - xmpp: dev@conference.example.org`, `    qq: Dev`, ``].join("\n");
  const problems = (m: string) => parseConfig(base(m), { path: "/tmp/p.yaml", env: {} }).problems.filter((p) => p.path.startsWith("metrics"));
  assert.equal(problems(`{ listen: "127.0.0.1:9464" }`).length, 0);
  assert.equal(problems(`{ listen: "[::1]:9464" }`).length, 0);
  const open = problems(`{ listen: "0.0.0.0:9464" }`);
  assert.equal(open.length, 1);
  assert.match(open[0]!.message, /without a login/);
  assert.equal(open[0]!.path, "metrics.auth");
  assert.equal(problems(`{ listen: "0.0.0.0:9464", auth: { user: ops, password: pw } }`).length, 0);
  assert.equal(problems(`{ listen: "0.0.0.0:9464", insecure_no_auth: true }`).length, 0);
});
