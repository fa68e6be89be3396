// maxBodySize: a response body larger than the cap fails cleanly, at the cap, and its connection closes.
import { test } from "node:test";
import assert from "node:assert/strict";
import type http from "node:http";
import pino from "pino";
import { Agent } from "undici";
import { BodyTooLargeError, bodyLimit, HTTPStream } from "../../src/index.ts";
import { deferred, listen } from "./loopback.ts";

const quiet = pino({ level: "silent" });
const fast = { logger: quiet, retry: { minTimeout: 1, maxTimeout: 2 }, chainBackoff: { min: 1, max: 2 } };
const MiB = 1024 * 1024;
/** What an endless body would reach if nobody stopped it. */
const ENDLESS = 1024 * MiB;

/** A server streaming an endless chunked body, honouring backpressure; it records what it wrote and when the client hung up. */
async function endlessServer(extraHeaders: http.OutgoingHttpHeaders = {}) {
  const closed = deferred<number>();
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const srv = await listen((req, res) => {
    res.writeHead(200, { "content-type": "application/json", ...extraHeaders });
    let written = 0;
    const pump = (): void => {
      while (written < ENDLESS && !res.destroyed) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
    };
    req.socket.once("close", () => closed.resolve(written));
    pump();
  });
  return { srv, closed: closed.promise };
}

test("an endless body fails at the cap with BodyTooLargeError (requestSent true), and the server sees the connection closed", async (t) => {
  const { srv, closed } = await endlessServer();
  const s = new HTTPStream({ ...fast, maxBodySize: 1 * MiB });
  t.after(() => s.close().then(srv.close));
  const res = await s.request({ url: srv.url + "/huge" });
  await assert.rejects(res.text(), (e: unknown) => {
    assert.ok(e instanceof BodyTooLargeError, String(e));
    assert.equal(e.limit, 1 * MiB);
    assert.equal(e.requestSent, true);
    return true;
  });
  const written = await closed;
  // The server stopped far below the endless body: the cap, plus what the kernel's buffers held.
  assert.ok(written < 64 * MiB, `server wrote ${written} bytes`);
});

test("a Content-Length above the cap fails at the headers: the readback never runs, nothing is retried", async (t) => {
  let hits = 0;
  const closed = deferred();
  const srv = await listen((req, res) => {
    hits++;
    req.socket.once("close", () => closed.resolve());
    res.writeHead(200, { "content-length": String(100 * MiB) });
    res.write(Buffer.alloc(1024));
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  let readbacks = 0;
  const errors: unknown[] = [];
  await s.add({ url: srv.url + "/big", maxBodySize: 10 * MiB }, () => void readbacks++, { onError: (err) => void errors.push(err) }).done;
  await closed.promise;
  assert.equal(readbacks, 0);
  assert.equal(hits, 1);
  assert.equal(errors.length, 1);
  const err = errors[0] as BodyTooLargeError;
  assert.ok(err instanceof BodyTooLargeError);
  assert.equal(err.declared, 100 * MiB);
  assert.equal(err.requestSent, true);
});

test("the request's own cap overrides the stream's; an event stream is exempt from the stream's default only", async (t) => {
  const body = Buffer.alloc(3 * 1024, 0x63);
  const srv = await listen((req, res) => {
    res.writeHead(200, { "content-type": req.url === "/events" ? "text/event-stream" : "application/octet-stream" });
    res.end(body);
  });
  const s = new HTTPStream({ ...fast, maxBodySize: 1024 });
  t.after(() => s.close().then(srv.close));
  await assert.rejects(async () => (await s.request({ url: srv.url + "/blob" })).bytes(), BodyTooLargeError);
  assert.equal((await (await s.request({ url: srv.url + "/blob", maxBodySize: 4096 })).bytes()).length, body.length);
  assert.equal((await (await s.request({ url: srv.url + "/events" })).bytes()).length, body.length);
  await assert.rejects(async () => (await s.request({ url: srv.url + "/events", maxBodySize: 1024 })).bytes(), BodyTooLargeError);
  assert.throws(() => s.add({ url: srv.url, maxBodySize: 0 }), /maxBodySize/);
  assert.throws(() => new HTTPStream({ ...fast, maxBodySize: -1 }), /maxBodySize/);
});

test("the interceptor alone, on a plain undici Agent", async (t) => {
  const { srv, closed } = await endlessServer();
  const agent = new Agent().compose(bodyLimit({ maxBodySize: 256 * 1024 }));
  t.after(() => agent.close().then(srv.close));
  const { body } = await agent.request({ origin: srv.url, path: "/", method: "GET" });
  await assert.rejects(body.text(), BodyTooLargeError);
  assert.ok((await closed) < 64 * MiB);
});
