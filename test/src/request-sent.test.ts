// "Was the request sent?" from undici's handler callbacks, against real loopback servers.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { Agent } from "undici";
import { classifyFailure, HTTPStatusError, HTTPStream, requestSent } from "../../src/index.ts";
import { closedPort, countdown, listen, readBody } from "./loopback.ts";

const quiet = pino({ level: "silent" });
const fast = { logger: quiet, retry: { minTimeout: 1, maxTimeout: 2 }, chainBackoff: { min: 1, max: 2 } };
type Sent = { requestSent?: boolean; code?: string };
/** Bigger than loopback's socket buffers on both sides, so the server cannot have swallowed it whole. */
const LARGE = Buffer.alloc(32 * 1024 * 1024, 0x61);

test("connection refused: requestSent is false, also after every retry", async (t) => {
  const port = await closedPort();
  const s = new HTTPStream(fast);
  t.after(() => s.close());
  await assert.rejects(s.request({ url: `http://127.0.0.1:${port}/send`, body: "x", retry: false }), (e: Sent) => e.requestSent === false);
  await assert.rejects(s.request({ url: `http://127.0.0.1:${port}/send`, body: "x", retry: { retries: 2 } }), (e: Sent) => {
    assert.equal(e.requestSent, false);
    assert.equal(classifyFailure(e), "before-send");
    return true;
  });
  assert.equal(s.stats().retried, 2);
});

test("the server reads the whole request, then destroys the socket: requestSent is true, and a POST is not resent", async (t) => {
  let hits = 0;
  const srv = await listen(async (req) => {
    hits++;
    await readBody(req);
    req.socket.destroy();
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  await assert.rejects(s.request({ url: srv.url + "/send", body: "hello" }), (e: Sent) => {
    assert.equal(e.requestSent, true);
    assert.equal(classifyFailure(e), "transport");
    return true;
  });
  assert.equal(hits, 1);
});

test("the server reads only the headers of a large POST, then destroys the socket: requestSent is false, and the POST is resent", async (t) => {
  let hits = 0;
  let received = 0;
  const srv = await listen(async (req, res) => {
    if (++hits === 1) return req.socket.destroy(); // headers read, not one byte of the body
    for await (const chunk of req) received += (chunk as Buffer).length;
    res.end("stored");
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  await assert.rejects(s.request({ url: srv.url + "/upload", body: LARGE, retry: false }), (e: Sent) => {
    assert.equal(e.requestSent, false, `code ${e.code}`);
    assert.equal(classifyFailure(e), "before-send");
    return true;
  });
  // Nothing reached the server whole, so even a POST that is not retrySafe is sent again.
  hits = 0;
  const res = await s.request({ url: srv.url + "/upload", body: LARGE });
  assert.equal(await res.text(), "stored");
  assert.equal(hits, 2);
  assert.equal(received, LARGE.length);
});

test("an answered hop makes the request sent: a 303 to a refused port fails with requestSent true", async (t) => {
  const port = await closedPort();
  const srv = await listen((_req, res) => res.writeHead(303, { location: `http://127.0.0.1:${port}/done` }).end());
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  await assert.rejects(s.request({ url: srv.url + "/send", body: "x", retry: { retries: 1 } }), (e: Sent) => e.code === "ECONNREFUSED" && e.requestSent === true);
});

test("a status still returned after the retries, and a body cut mid-read, both say requestSent true", async (t) => {
  const srv = await listen((req, res) => {
    if (req.url === "/busy") return res.writeHead(503).end();
    res.writeHead(200, { "content-length": "100" });
    res.write("partial");
    setImmediate(() => req.socket.destroy());
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  await assert.rejects(s.request({ url: srv.url + "/busy", retry: { retries: 1 } }), (e: unknown) => e instanceof HTTPStatusError && e.requestSent === true);
  const res = await s.request({ url: srv.url + "/cut" });
  await assert.rejects(res.text(), (e: Sent) => e.requestSent === true);
});

test("a chain's error policy sees requestSent on the failure it handles", async (t) => {
  const port = await closedPort();
  const arrived = countdown(1);
  const srv = await listen(async (req) => {
    await readBody(req);
    arrived.hit();
    req.socket.destroy();
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  const seen: (boolean | undefined)[] = [];
  const onError = (err: unknown): undefined => void seen.push((err as Sent).requestSent);
  await s.add({ url: `http://127.0.0.1:${port}/send`, body: "a", retry: false }, undefined, { onError }).done;
  await s.add({ url: srv.url + "/send", body: "b" }, undefined, { onError }).done;
  assert.deepEqual(seen, [false, true]);
});

test("the interceptor alone, on a plain undici Agent", async (t) => {
  const port = await closedPort();
  const srv = await listen(async (req) => {
    await readBody(req);
    req.socket.destroy();
  });
  const agent = new Agent().compose(requestSent());
  t.after(() => agent.close().then(srv.close));
  await assert.rejects(agent.request({ origin: `http://127.0.0.1:${port}`, path: "/", method: "POST", body: "x" }), (e: Sent) => e.requestSent === false);
  await assert.rejects(agent.request({ origin: srv.url, path: "/", method: "POST", body: "x" }), (e: Sent) => e.requestSent === true);
});

test("close() gives up on requests under way: each aborted one says its own requestSent", { timeout: 30_000 }, async (t) => {
  const arrived = countdown(1);
  const srv = await listen(async (req) => {
    await readBody(req);
    arrived.hit(); // read whole, never answered
  });
  t.after(srv.close);
  // One connection: the second request waits in undici's queue and is never written.
  const s = new HTTPStream({ ...fast, connections: 1 });
  const first = s.request({ url: srv.url + "/a", body: "a", timeout: 3_600_000 }).then(() => "answered", (e: Sent) => e.requestSent);
  await arrived.reached;
  const second = s.request({ url: srv.url + "/b", body: "b", timeout: 3_600_000 }).then(() => "answered", (e: Sent) => e.requestSent);
  await s.close({ timeout: 50 });
  assert.deepEqual([await first, await second], [true, false]);
});
