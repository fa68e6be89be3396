// Retries, timeouts, redirects and cookies over real loopback servers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CookieJar, MemoryCookieStore } from "tough-cookie";
import pino from "pino";
import { HTTPStatusError, HTTPStream, RedirectError } from "../../src/index.ts";
import { closedPort, deferred, fixedStatus, listen, readBody } from "./loopback.ts";

const quiet = pino({ level: "silent" });
const fastRetry = { minTimeout: 1, maxTimeout: 2, maxRetryAfter: 50 };

function stream(extra: ConstructorParameters<typeof HTTPStream>[0] = {}): HTTPStream {
  return new HTTPStream({ logger: quiet, retry: fastRetry, chainBackoff: { min: 1, max: 2 }, ...extra });
}

test("a connection reset before the response is retried for GET", async (t) => {
  let hits = 0;
  const srv = await listen((req, res) => {
    if (++hits === 1) return req.socket.destroy();
    res.end("ok");
  });
  const s = stream();
  t.after(() => s.close().then(srv.close));
  const res = await s.request({ url: srv.url + "/x" });
  assert.equal(await res.text(), "ok");
  assert.equal(hits, 2);
  assert.equal(s.stats().retried, 1);
});

test("a POST reset after sending is not retried unless it is retrySafe", async (t) => {
  let hits = 0;
  const srv = await listen(async (req, res) => {
    hits++;
    const body = await readBody(req);
    if (body === "reset") return req.socket.destroy();
    res.end("posted " + body);
  });
  const s = stream();
  t.after(() => s.close().then(srv.close));
  await assert.rejects(s.request({ url: srv.url, body: "reset" }), (e: { code?: string }) => e.code === "UND_ERR_SOCKET" || e.code === "ECONNRESET");
  assert.equal(hits, 1);
  assert.equal(s.stats().failed, 1);
  hits = 0;
  await assert.rejects(s.request({ url: srv.url, body: "reset", retrySafe: true, retry: { retries: 2 } }));
  assert.equal(hits, 3, "retrySafe POST: first attempt + 2 retries");
});

test("a POST refused before sending is retried (nothing reached the server)", async (t) => {
  const port = await closedPort();
  const s = stream();
  t.after(() => s.close());
  await assert.rejects(s.request({ url: `http://127.0.0.1:${port}/send`, body: "x", retry: { retries: 2 } }), (e: unknown) => {
    const code = (e as { code?: string }).code ?? (e as { errors?: { code?: string }[] }).errors?.[0]?.code;
    return code === "ECONNREFUSED";
  });
  assert.equal(s.stats().retried, 2);
  assert.equal(s.stats().failed, 1);
});

test("503 with Retry-After is retried after the (capped) Retry-After wait", async (t) => {
  let hits = 0;
  const srv = await listen((_req, res) => {
    if (++hits === 1) {
      res.writeHead(503, { "retry-after": "3600" }); // an hour: capped to maxRetryAfter (50 ms)
      return res.end("busy");
    }
    res.end("ok");
  });
  const lines: { msg: string; wait?: number }[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const s = stream({ logger });
  t.after(() => s.close().then(srv.close));
  const res = await s.request({ url: srv.url });
  assert.equal(res.status, 200);
  assert.equal(hits, 2);
  // The wait the engine chose (and logged) is the capped Retry-After, not the 1-2 ms backoff.
  assert.deepEqual(lines.filter((l) => l.msg === "retrying request").map((l) => l.wait), [50]);
});

test("a retryable status that outlasts the retries throws HTTPStatusError; retry:false hands it over", async (t) => {
  const srv = await fixedStatus(504, "gateway");
  const s = stream();
  t.after(() => s.close().then(srv.close));
  await assert.rejects(s.request({ url: srv.url + "/?token=SECRETQ", retry: { retries: 2 } }), (e: unknown) => {
    assert.ok(e instanceof HTTPStatusError);
    assert.equal(e.status, 504);
    assert.ok(!e.message.includes("SECRETQ"), e.message);
    return true;
  });
  assert.equal(srv.hits, 3);
  srv.hits = 0;
  const res = await s.request({ url: srv.url, retry: false, longPoll: true });
  assert.equal(res.status, 504);
  assert.equal(await res.text(), "gateway");
  assert.equal(srv.hits, 1);
  srv.hits = 0;
  const narrowed = await s.request({ url: srv.url, retry: { statuses: [] } });
  assert.equal(narrowed.status, 504);
  assert.equal(srv.hits, 1);
  // A non-idempotent request is not retried on a status; the readback sees it.
  const post = await s.request({ url: srv.url, body: "x" });
  assert.equal(post.status, 504);
});

test("non-retryable statuses go straight to the caller", async (t) => {
  const srv = await fixedStatus(404, "nope");
  const s = stream();
  t.after(() => s.close().then(srv.close));
  const res = await s.request({ url: srv.url });
  assert.equal(res.status, 404);
  assert.equal(srv.hits, 1);
});

// The timeout under test is short so the test is quick. A loaded machine may time out a healthy
// attempt too: that only makes one more attempt (the retries do not run out on a slow machine),
// and the test waits for events (the answer, the stalled connection's close) and counts
// invariants (every attempt but the last was abandoned and retried), never a time.
const STALL_TIMEOUT = { timeout: 100, retry: { retries: 1000 } };

test("a stalled response past its timeout is abandoned on the wire and retried", async (t) => {
  let hits = 0;
  const abandoned = deferred();
  const srv = await listen((req, res) => {
    if (++hits === 1) return void req.socket.once("close", () => abandoned.resolve()); // never answers
    res.end("late but fine");
  });
  const s = stream();
  t.after(() => s.close().then(srv.close));
  const res = await s.request({ url: srv.url, ...STALL_TIMEOUT });
  assert.equal(await res.text(), "late but fine");
  await abandoned.promise; // the client closed the stalled attempt's connection
  assert.ok(hits >= 2);
  assert.equal(s.stats().retried, hits - 1);
  assert.equal(s.stats().failed, 0);
});

test("a stalled body past its timeout fails the read", async (t) => {
  const srv = await listen((_req, res) => {
    res.writeHead(200, { "content-length": "10" });
    res.write("12345"); // and then nothing
  });
  const s = stream();
  t.after(() => s.close().then(srv.close));
  // A loaded machine may time out the headers first: those attempts are retried, the body still stalls.
  const res = await s.request({ url: srv.url, ...STALL_TIMEOUT });
  await assert.rejects(res.text(), (e: { code?: string }) => e.code === "UND_ERR_BODY_TIMEOUT");
});

test("a 302 that sets a cookie, then redirects: the cookie is stored and sent on the next hop", async (t) => {
  const srv = await listen((req, res) => {
    if (req.url === "/login") {
      res.writeHead(302, { location: "/home", "set-cookie": "sid=abc123; Path=/; HttpOnly" });
      return res.end();
    }
    if (req.headers.cookie !== "sid=abc123") return res.writeHead(403).end("no session");
    res.end(`home ${req.method}`);
  });
  const s = stream();
  t.after(() => s.close().then(srv.close));
  const res = await s.request({ url: srv.url + "/login", form: { u: "me" } });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "home GET");
  assert.equal(res.url, srv.url + "/home");
  assert.equal(await s.cookies.getCookieString(srv.url + "/"), "sid=abc123");
});

test("307 keeps method and body; maxRedirects 0 hands the 3xx over; loops end in RedirectError", async (t) => {
  const srv = await listen(async (req, res) => {
    const body = await readBody(req);
    if (req.url === "/a") return res.writeHead(307, { location: "/b" }).end();
    if (req.url === "/loop") return res.writeHead(302, { location: "/loop" }).end();
    res.end(`${req.method} ${body}`);
  });
  const s = stream();
  t.after(() => s.close().then(srv.close));
  assert.equal(await (await s.request({ url: srv.url + "/a", body: "payload" })).text(), "POST payload");
  const raw = await s.request({ url: srv.url + "/a", maxRedirects: 0 });
  assert.equal(raw.status, 307);
  assert.equal(raw.headers.location, "/b");
  await assert.rejects(s.request({ url: srv.url + "/loop", maxRedirects: 3 }), RedirectError);
});

test("the cookie jar round-trips through serialize/deserialize into a new stream", async (t) => {
  const srv = await listen((req, res) => {
    if (req.url === "/set") {
      res.setHeader("set-cookie", ["a=1; Path=/; Max-Age=3600", "b=2; Path=/"]);
      return res.end();
    }
    res.end(req.headers.cookie ?? "");
  });
  const first = stream();
  await first.request({ url: srv.url + "/set" }).then((r) => r.text());
  const saved = JSON.stringify(await first.cookies.serialize());
  await first.close();
  const second = stream({ cookies: await CookieJar.deserialize(JSON.parse(saved)) });
  t.after(() => second.close().then(srv.close));
  assert.equal(await (await second.request({ url: srv.url + "/get" })).text(), "a=1; b=2");
});

test("an aborted one-shot request rejects with the abort reason and frees the slot", async (t) => {
  const arrived = deferred();
  const srv = await listen((req, res) => {
    if (req.url === "/hang") return arrived.resolve();
    res.end("next");
  });
  const s = stream({ connections: 1 });
  t.after(() => s.close().then(srv.close));
  const ac = new AbortController();
  const pending = s.request({ url: srv.url + "/hang" }, { signal: ac.signal });
  await arrived.promise;
  ac.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  assert.equal(await (await s.request({ url: srv.url + "/next" })).text(), "next");
});

test("cookies already in a given jar are sent, for a named host and for an IP", async (t) => {
  const srv = await listen((req, res) => res.end(req.headers.cookie ?? "-"));
  const port = new URL(srv.url).port;
  const jar = new CookieJar();
  await jar.setCookie("named=1; Path=/", "http://localhost/");
  await jar.setCookie("ip=2; Path=/", "http://127.0.0.1/");
  const s = stream({ cookies: jar });
  t.after(() => s.close().then(srv.close));
  assert.equal(await (await s.request({ url: `http://localhost:${port}/` })).text(), "named=1");
  assert.equal(await (await s.request({ url: `http://127.0.0.1:${port}/` })).text(), "ip=2");
});

test("an async cookie store: cookies read before the dispatch and stored before the response goes on, redirects included", async (t) => {
  class AsyncStore extends MemoryCookieStore {
    constructor() {
      super();
      this.synchronous = false;
    }
  }
  const srv = await listen((req, res) => {
    if (req.url === "/login") return res.writeHead(302, { location: "/home", "set-cookie": "sid=async1; Path=/" }).end();
    res.end(req.headers.cookie ?? "-");
  });
  const jar = new CookieJar(new AsyncStore());
  const s = stream({ cookies: jar });
  t.after(() => s.close().then(srv.close));
  assert.throws(() => jar.getCookieStringSync(srv.url), /synchronous/i); // the store really is async
  assert.equal(await (await s.request({ url: srv.url + "/login" })).text(), "sid=async1");
  assert.equal(await (await s.request({ url: srv.url + "/again" })).text(), "sid=async1");
});
