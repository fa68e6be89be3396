// Chains: chaining, fan-out, delays, error policies, cancel, close, scale.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { HTTPStream, type Step, type StreamResponse, StreamClosedError } from "../../src/index.ts";
import { countdown, deferred, listen } from "./loopback.ts";

const quiet = pino({ level: "silent" });
const fast = { logger: quiet, retry: { minTimeout: 1, maxTimeout: 2 }, chainBackoff: { min: 1, max: 2 } };

test("a chain runs step after step until its readback returns nothing", async (t) => {
  const srv = await listen((req, res) => res.end(req.url));
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  const seen: string[] = [];
  const readback = async (res: StreamResponse): Promise<Step | undefined> => {
    const path = await res.text();
    seen.push(path);
    const n = Number(path.slice(1));
    return n < 4 ? { request: { url: `${srv.url}/${n + 1}` }, readback } : undefined;
  };
  const chain = s.add({ url: srv.url + "/1" }, readback, { name: "counter" });
  assert.equal(chain.name, "counter");
  await chain.done;
  assert.deepEqual(seen, ["/1", "/2", "/3", "/4"]);
  assert.equal(s.stats().chains, 0);
  assert.equal(s.stats().completed, 4);
});

test("fan-out: every returned step runs; the chain is done when all of them are", async (t) => {
  const srv = await listen((req, res) => res.end(req.url));
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  const leaves: string[] = [];
  const leaf = async (res: StreamResponse) => void leaves.push(await res.text());
  const discarded: Step = { request: { url: srv.url + "/no-readback" } };
  const chain = s.add({ url: srv.url + "/root" }, () => [
    { request: { url: srv.url + "/a" }, readback: leaf },
    { request: { url: srv.url + "/b" }, readback: leaf, delay: 5 },
    { request: { url: srv.url + "/c" }, readback: () => [{ request: { url: srv.url + "/c1" }, readback: leaf }, discarded] },
  ]);
  await chain.done;
  assert.deepEqual(leaves.sort(), ["/a", "/b", "/c1"]);
  assert.equal(s.stats().completed, 6);
});

test("delays order the sends by their delay, without blocking other chains", async (t) => {
  const order: string[] = [];
  let arrived: (() => void) | undefined;
  const srv = await listen((req, res) => {
    order.push(req.url!);
    arrived?.();
    res.end();
  });
  const s = new HTTPStream({ ...fast, connections: 1 });
  t.after(() => s.close().then(srv.close));
  // The clock is ours: each delay expires only when we move time past it, so the order the
  // server sees is the delays' order, however loaded the machine is.
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const nextArrival = () => new Promise<void>((resolve) => (arrived = resolve));
  let seen = nextArrival();
  const chains = [30, 10, 0, 20].map((delay) => s.add({ url: `${srv.url}/d${delay}` }, undefined, { delay }));
  assert.equal(s.stats().delayed, 3);
  await seen; // the undelayed step went out at once, while the others wait
  assert.deepEqual(order, ["/d0"]);
  for (const at of [10, 20, 30]) {
    seen = nextArrival();
    t.mock.timers.tick(10);
    await seen;
    assert.deepEqual(order.at(-1), `/d${at}`);
  }
  t.mock.timers.reset();
  await Promise.all(chains.map((c) => c.done));
  assert.deepEqual(order, ["/d0", "/d10", "/d20", "/d30"]);
  assert.equal(s.stats().delayed, 0);
});

test("a readback that throws is retried by default; the chain and the process survive", async (t) => {
  const srv = await listen((_req, res) => res.end("body"));
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  const failuresSeen: number[] = [];
  const chain = s.add({ url: srv.url }, (res, ctx) => {
    failuresSeen.push(ctx.failures);
    if (failuresSeen.length < 3) throw new Error("readback bug");
    return undefined;
  });
  await chain.done;
  assert.deepEqual(failuresSeen, [0, 1, 2], "consecutive failures grow, seen by the step");
});

test("a success resets the chain's failure count", async (t) => {
  const srv = await listen((_req, res) => res.end());
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  const failures: number[] = [];
  let calls = 0;
  const readback = (_res: StreamResponse, ctx: { failures: number }): Step | undefined => {
    failures.push(ctx.failures);
    calls++;
    if (calls === 1 || calls === 3) throw new Error("flaky");
    return calls < 4 ? { request: { url: srv.url }, readback } : undefined;
  };
  await s.add({ url: srv.url }, readback).done;
  assert.deepEqual(failures, [0, 1, 0, 1]);
});

test("error policy 'end' rejects done; a callback policy picks the next step", async (t) => {
  const srv = await listen((req, res) => res.end(req.url));
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  const ended = s.add({ url: srv.url }, () => {
    throw new Error("fatal readback");
  }, { onError: "end" });
  await assert.rejects(ended.done, /fatal readback/);

  const handled: unknown[] = [];
  let recovered = "";
  const chain = s.add({ url: srv.url + "/first" }, () => {
    throw new Error("first fails");
  }, {
    onError: (err, step) => {
      handled.push((err as Error).message, String(step.request.url));
      return { request: { url: srv.url + "/recovery" }, readback: async (res) => void (recovered = await res.text()) };
    },
  });
  await chain.done;
  assert.deepEqual(handled, ["first fails", srv.url + "/first"]);
  assert.equal(recovered, "/recovery");
});

test("a reset mid-body is recovered by re-running the step", async (t) => {
  let hits = 0;
  const srv = await listen((req, res) => {
    hits++;
    res.writeHead(200, { "content-length": "20" });
    if (hits === 1) {
      res.write("partial");
      res.once("drain", () => undefined);
      return setImmediate(() => req.socket.destroy());
    }
    res.end("01234567890123456789");
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  let body = "";
  await s.add({ url: srv.url }, async (res) => void (body = await res.text())).done;
  assert.equal(body, "01234567890123456789");
  assert.equal(hits, 2);
});

test("cancel while delayed: nothing is sent and done resolves", async (t) => {
  let hits = 0;
  const srv = await listen((_req, res) => {
    hits++;
    res.end();
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  const chain = s.add({ url: srv.url }, undefined, { delay: 3_600_000 });
  assert.equal(s.stats().delayed, 1);
  chain.cancel();
  await chain.done;
  assert.equal(hits, 0);
  assert.equal(s.stats().delayed, 0);
  assert.equal(s.stats().chains, 0);
});

// A regression here would hang: the timeout turns it into a failure.
test("cancel while in flight and while parked: the request is aborted on the wire", { timeout: 30_000 }, async (t) => {
  const arrived = countdown(2);
  const closedOnServer = countdown(2);
  const srv = await listen((req) => {
    req.socket.once("close", closedOnServer.hit);
    arrived.hit();
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  let readbacks = 0;
  const short = s.add({ url: srv.url + "/short" }, () => void readbacks++);
  const ac = new AbortController();
  const parked = s.add({ url: srv.url + "/poll", longPoll: true }, () => void readbacks++, { signal: ac.signal });
  await arrived.reached;
  assert.equal(s.stats().parked, 1);
  assert.equal(s.stats().inFlight, 2);
  short.cancel();
  ac.abort();
  await Promise.all([short.done, parked.done, closedOnServer.reached]);
  assert.equal(readbacks, 0);
  assert.equal(s.stats().inFlight, 0);
  assert.equal(s.stats().parked, 0);
});

// A regression here would hang: the timeout turns it into a failure.
test("close() cancels delayed steps at once, drains in-flight work, then sends nothing more", { timeout: 30_000 }, async (t) => {
  const arrived = deferred();
  const release = deferred();
  const urls: string[] = [];
  const srv = await listen(async (req, res) => {
    urls.push(req.url!);
    arrived.resolve();
    await release.promise;
    res.end("done");
  });
  t.after(srv.close);
  const s = new HTTPStream(fast);
  const events: string[] = [];
  const busy = s.add({ url: srv.url + "/busy" }, async (res) => {
    events.push("readback " + (await res.text()));
    return { request: { url: srv.url + "/after-close" } };
  });
  const delayed = s.add({ url: srv.url + "/delayed" }, undefined, { delay: 3_600_000 });
  await arrived.promise;
  const closed = s.close().then(() => events.push("closed"));
  await delayed.done.then(() => events.push("delayed cancelled"));
  events.push("release");
  release.resolve();
  await closed;
  await busy.done;
  assert.deepEqual(events, ["delayed cancelled", "release", "readback done", "closed"]);
  assert.deepEqual(urls, ["/busy"]);
  assert.throws(() => s.add({ url: srv.url }), StreamClosedError);
  await assert.rejects(s.request({ url: srv.url }), StreamClosedError);
});

// A regression here would hang: the timeout turns it into a failure.
test("close() is bounded: work that never finishes is aborted after the timeout", { timeout: 30_000 }, async (t) => {
  const arrived = deferred();
  const srv = await listen(() => arrived.resolve()); // never answers
  t.after(srv.close);
  const s = new HTTPStream(fast);
  const chain = s.add({ url: srv.url, timeout: 3_600_000 }, () => undefined);
  const oneShot = assert.rejects(s.request({ url: srv.url + "/one", timeout: 3_600_000 }), StreamClosedError);
  await arrived.promise;
  await s.close({ timeout: 50 });
  await chain.done;
  await oneShot;
});

// A regression here would hang: the timeout turns it into a failure.
test("1,000 concurrent chains of three steps each all finish", { timeout: 30_000 }, async (t) => {
  let hits = 0;
  const srv = await listen((req, res) => {
    hits++;
    res.end(req.url);
  });
  const s = new HTTPStream({ ...fast, connections: 32 });
  t.after(() => s.close().then(srv.close));
  const step = (i: number, n: number): Step => ({
    request: { url: `${srv.url}/${i}/${n}` },
    readback: async (res) => {
      assert.equal(await res.text(), `/${i}/${n}`);
      return n < 3 ? step(i, n + 1) : undefined;
    },
  });
  const chains = Array.from({ length: 1000 }, (_, i) => {
    const first = step(i, 1);
    return s.add(first.request, first.readback);
  });
  assert.equal(s.stats().chains, 1000);
  await Promise.all(chains.map((c) => c.done));
  assert.equal(hits, 3000);
  assert.equal(s.stats().completed, 3000);
  assert.equal(s.stats().chains, 0);
});

test("bad input fails loudly at add(), and a readback returning garbage ends its chain with a clear error", async (t) => {
  const srv = await listen((_req, res) => res.end());
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  assert.throws(() => s.add({ url: "no scheme" }), /absolute URL/);
  const chain = s.add({ url: srv.url }, () => ({ nope: true }) as unknown as Step);
  await assert.rejects(chain.done, /not a step/);
});

test("bad options fail at construction with a message naming the option", () => {
  assert.throws(() => new HTTPStream({ ...fast, connections: 0 }), /connections must be a positive integer/);
  assert.throws(() => new HTTPStream({ ...fast, retry: { retries: -1 } }), /retry\.retries/);
  assert.throws(() => new HTTPStream({ ...fast, retry: { statuses: [42] } }), /retry\.statuses/);
  assert.throws(() => new HTTPStream({ ...fast, timeout: Number.NaN }), /timeout/);
  assert.throws(() => new HTTPStream({ ...fast, http2Origins: ["not an origin"] }), /http2Origins/);
});

test("onResponse sees every answered request once (after its retries), chains and one-shots alike; a throwing observer changes nothing", async (t) => {
  let hits = 0;
  const srv = await listen((req, res) => {
    if (req.url === "/flaky" && ++hits === 1) return void res.writeHead(503).end();
    res.end("ok");
  });
  const seen: { name: string | undefined; status: number; longPoll: boolean; origin: string }[] = [];
  const times: number[] = [];
  const s = new HTTPStream({
    ...fast,
    onResponse: ({ name, status, longPoll, origin, ms }) => {
      times.push(ms);
      seen.push({ name, status, longPoll, origin });
      if (name === "poll") throw new Error("observer bug");
    },
  });
  t.after(() => s.close().then(srv.close));
  // ms lies within what the caller itself saw: from before the call to after the answer.
  const t0 = performance.now();
  await (await s.request({ url: srv.url + "/flaky", name: "flaky" })).text();
  const t1 = performance.now();
  await s.add({ url: srv.url + "/poll", longPoll: true, name: "poll" }, async (res) => void (await res.text())).done;
  const t2 = performance.now();
  assert.equal(times.length, 2);
  assert.ok(times[0]! > 0 && times[0]! <= t1 - t0, `${times[0]} not within (0, ${t1 - t0}]`);
  assert.ok(times[1]! > 0 && times[1]! <= t2 - t1, `${times[1]} not within (0, ${t2 - t1}]`);
  const origin = new URL(srv.url).origin;
  assert.deepEqual(seen, [
    { name: "flaky", status: 200, longPoll: false, origin },
    { name: "poll", status: 200, longPoll: true, origin },
  ]);
});
