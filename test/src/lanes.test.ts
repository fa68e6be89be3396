// Long polls get their own lane; HTTP/2 is opt-in per origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { HTTPStream } from "../../src/index.ts";
import { countdown, deferred, listen } from "./loopback.ts";

const quiet = pino({ level: "silent" });

// A regression here would hang: the timeout turns it into a failure.
test("a short request completes while every long-poll slot is parked", { timeout: 30_000 }, async (t) => {
  const events: string[] = [];
  const parked = countdown(3);
  const release = deferred();
  const srv = await listen(async (req, res) => {
    if (req.url!.startsWith("/poll")) {
      events.push("parked " + req.url);
      parked.hit();
      await release.promise;
      return res.end("poll");
    }
    res.end("short");
  });
  // As few connections as possible: one short connection, three long-poll connections, all taken.
  const s = new HTTPStream({ logger: quiet, connections: 1, longPollConnections: 3 });
  t.after(() => s.close().then(srv.close));
  const polls = [1, 2, 3].map((i) =>
    s.add({ url: `${srv.url}/poll${i}`, longPoll: true, timeout: 3_600_000 }, async (res) => void events.push("poll done " + (await res.text()))),
  );
  await parked.reached;
  assert.equal(s.stats().parked, 3);
  const short = await s.request({ url: srv.url + "/short" });
  events.push("short done " + (await short.text()));
  release.resolve();
  await Promise.all(polls.map((p) => p.done));
  assert.deepEqual(events.slice(3), ["short done short", "poll done poll", "poll done poll", "poll done poll"]);
  assert.deepEqual(events.slice(0, 3).sort(), ["parked /poll1", "parked /poll2", "parked /poll3"]);
  const origin = s.stats().origins[srv.url]!;
  assert.equal(origin.completed, 4);
  assert.equal(origin.parked, 0);
});

test("an origin listed in http2Origins is spoken to over HTTP/2 (h2c)", async (t) => {
  const server = http2.createServer((req, res) => {
    res.setHeader("set-cookie", "h2=yes; Path=/");
    res.end(`${req.httpVersion} ${req.headers.cookie ?? "-"}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s = new HTTPStream({ logger: quiet, http2Origins: [url] });
  t.after(async () => {
    await s.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  assert.equal(await (await s.request({ url: url + "/a" })).text(), "2.0 -");
  const bodies = await Promise.all([1, 2, 3].map(async (i) => (await s.request({ url: `${url}/${i}` })).text()));
  assert.deepEqual(bodies, ["2.0 h2=yes", "2.0 h2=yes", "2.0 h2=yes"]);
});

test("re-armed long polls reuse their connections", { timeout: 30_000 }, async (t) => {
  const parked: import("node:http").ServerResponse[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const srv = await listen((_req, res) => {
    parked.push(res);
    waiters = waiters.filter((w) => (parked.length >= w.n ? (w.resolve(), false) : true));
  });
  let connections = 0;
  srv.server.on("connection", () => connections++);
  const parkedAtLeast = (n: number): Promise<void> => new Promise((resolve) => (parked.length >= n ? resolve() : waiters.push({ n, resolve })));
  const s = new HTTPStream({ logger: quiet });
  t.after(() => s.close({ timeout: 10 }).then(srv.close));
  const step = { request: { url: srv.url + "/poll", longPoll: true, timeout: 3_600_000 }, readback: async (res: { text(): Promise<string> }) => (await res.text(), step) };
  for (let i = 0; i < 5; i++) s.add(step.request, step.readback);
  for (let cycle = 0; cycle < 3; cycle++) {
    await parkedAtLeast(5);
    for (const res of parked.splice(0)) res.end("event");
  }
  await parkedAtLeast(5);
  assert.equal(connections, 5);
});
