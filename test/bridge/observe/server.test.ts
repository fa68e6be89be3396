import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { connect, type Socket } from "node:net";
import type { Logger } from "pino";
import { BridgeMetrics } from "../../../bridge/observe/metrics.ts";
import { startObserveServer, type HealthReport } from "../../../bridge/observe/server.ts";
import { createLogger } from "../../../bridge/log.ts";

const logger = createLogger({ level: "silent", format: "json", destination: new Writable({ write: (_c, _e, cb) => cb() }) });

const healthy = (): HealthReport => ({
  ok: true,
  networks: { qq: { ok: true, state: "online" } },
  rooms: { "dev@conference.example.org": { state: "joined" } },
  outbox: { depth: 0 },
});

test("/metrics serves every bridge metric in Prometheus text", async (t) => {
  const metrics = new BridgeMetrics();
  const server = await startObserveServer("127.0.0.1:0", { metrics, health: healthy, logger });
  t.after(() => server.close());
  metrics.relayed("dev", "qq");
  metrics.relayed("dev", "qq");
  metrics.failed("dev", "xmpp");
  metrics.gauges(() => ({ queued: [{ bridge: "dev", target: "qq", n: 3 }], depth: 7, deadLetters: [], rooms: [], networks: [] }));
  metrics.observePoll("qq", 0.3);
  metrics.reconnect("xmpp");
  metrics.rejected("qq");
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
  const text = await res.text();
  assert.match(text, /^pollbridge_messages_relayed_total\{bridge="dev",target="qq"\} 2$/m);
  assert.match(text, /^pollbridge_messages_failed_total\{bridge="dev",target="xmpp"\} 1$/m);
  assert.match(text, /^pollbridge_messages_queued\{bridge="dev",target="qq"\} 3$/m);
  assert.match(text, /^pollbridge_outbox_depth 7$/m);
  assert.match(text, /^pollbridge_poll_latency_seconds_bucket\{le="0.5",network="qq"\} 1$/m);
  assert.match(text, /^pollbridge_poll_latency_seconds_count\{network="qq"\} 1$/m);
  assert.match(text, /^pollbridge_reconnects_total\{side="xmpp"\} 1$/m);
  assert.match(text, /^pollbridge_events_rejected_total\{network="qq"\} 1$/m);
});

test("/healthz is 200 only when every network is logged in and every room joined", async (t) => {
  let report = healthy();
  const server = await startObserveServer("127.0.0.1:0", { metrics: new BridgeMetrics(), health: () => report, logger });
  t.after(() => server.close());

  let res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), report);

  report = { ...healthy(), ok: false, networks: { qq: { ok: false, state: "login-required", detail: "scan the QR code" } } };
  res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), report);

  // A report claiming ok while a room is not joined is not believed.
  report = { ...healthy(), rooms: { "dev@conference.example.org": { state: "failed", reason: "banned" } } };
  res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 503);
  const body = (await res.json()) as HealthReport;
  assert.equal(body.ok, false);
  assert.deepEqual(body.rooms, { "dev@conference.example.org": { state: "failed", reason: "banned" } });
});

test("unknown paths are 404, other methods 405", async (t) => {
  const server = await startObserveServer("127.0.0.1:0", { metrics: new BridgeMetrics(), health: healthy, logger });
  t.after(() => server.close());
  assert.equal((await fetch(`${server.url}/nope`)).status, 404);
  const post = await fetch(`${server.url}/metrics`, { method: "POST", body: "x" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
});

test("a health callback that throws gives a 500, and the server keeps serving", async (t) => {
  let fail = true;
  const server = await startObserveServer("127.0.0.1:0", {
    metrics: new BridgeMetrics(),
    health: () => {
      if (fail) throw new Error("boom");
      return healthy();
    },
    logger,
  });
  t.after(() => server.close());
  assert.equal((await fetch(`${server.url}/healthz`)).status, 500);
  fail = false;
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test("a busy port is a clear error naming metrics.listen", async (t) => {
  const first = await startObserveServer("127.0.0.1:0", { metrics: new BridgeMetrics(), health: healthy, logger });
  t.after(() => first.close());
  const listen = first.url.replace("http://", "");
  await assert.rejects(startObserveServer(listen, { metrics: new BridgeMetrics(), health: healthy, logger }), /metrics\.listen 127\.0\.0\.1:\d+: address already in use/);
});

test("close() ends open keep-alive connections", async () => {
  const server = await startObserveServer("127.0.0.1:0", { metrics: new BridgeMetrics(), health: healthy, logger });
  const res = await fetch(`${server.url}/healthz`);
  await res.text();
  await server.close(); // resolves although the fetch pool still holds a keep-alive socket
  await assert.rejects(fetch(`${server.url}/healthz`));
});

/** Sends raw bytes on a fresh socket; resolves with everything the server wrote before it closed. */
function rawRequest(url: string, bytes: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let got = "";
    socket.on("data", (d: Buffer) => (got += d.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => resolve(got));
    socket.write(bytes);
  });
}

function captured(): { logger: Logger; text: () => string } {
  let out = "";
  const logger = createLogger({ level: "debug", format: "json", destination: new Writable({ write: (c, _e, cb) => ((out += c.toString()), cb()) }) });
  return { logger, text: () => out };
}

test("a request target that is not a URL (GET http://[) gets 400, a debug line at most, no stack; the server keeps serving", async (t) => {
  const log = captured();
  const server = await startObserveServer("127.0.0.1:0", { metrics: new BridgeMetrics(), health: healthy, logger: log.logger });
  t.after(() => server.close());
  for (const bytes of ["GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", Buffer.from([0, 1, 2, 0x0d, 0x0a, 0x0d, 0x0a])]) {
    const answer = await rawRequest(server.url, bytes);
    assert.match(answer, /^HTTP\/1\.1 400 /, JSON.stringify(bytes.toString()));
  }
  const lines = log.text().trim().split("\n").map((l) => JSON.parse(l) as { level: number; msg: string });
  assert.ok(lines.every((l) => l.level <= 20 || l.msg === "metrics and health endpoint listening"), log.text());
  assert.doesNotMatch(log.text(), /\bat .*\(.*:\d+:\d+\)|"stack"/);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test("connections are capped and a request that does not finish in time is answered 408 and closed", async (t) => {
  const server = await startObserveServer("127.0.0.1:0", { metrics: new BridgeMetrics(), health: healthy, logger, limits: { maxConnections: 2, requestTimeoutMs: 500 } });
  t.after(() => server.close());
  const { hostname, port } = new URL(server.url);
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect(Number(port), hostname, () => resolve(s));
      s.on("error", reject);
    });
  // Two slow requests hold both connections (headers never finished).
  const slow = [await open(), await open()];
  for (const s of slow) s.write("GET /metrics HTTP/1.1\r\nHost: x\r\n");
  const answers = slow.map((s) => new Promise<string>((resolve) => {
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.on("close", () => resolve(got));
  }));
  // A third is dropped at once, without an answer.
  const third = await open();
  const thirdGot = await new Promise<string>((resolve) => {
    let got = "";
    third.on("data", (d: Buffer) => (got += d.toString()));
    third.on("close", () => resolve(got));
    third.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  });
  assert.equal(thirdGot, "");
  // The slow ones are timed out by the server (408), which frees the slots.
  for (const a of answers) assert.match(await a, /^HTTP\/1\.1 408 /);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});
