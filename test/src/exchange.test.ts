// The stats interceptor counts every hop and attempt; the in-flight and parked counters must settle
// exactly once on every path (answered, retried status, redirect, failure on the wire).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import http from "node:http";
import pino from "pino";
import { HTTPStream, type StreamResponse } from "../../src/index.ts";
import { listen } from "./loopback.ts";

const fast = { logger: pino({ level: "silent" }), retry: { retries: 2, minTimeout: 1, maxTimeout: 2 } };

test("counters settle once per attempt: retried status, redirect, long poll, success", async (t) => {
  let flaky = 0;
  const srv = await listen((req, res) => {
    if (req.url === "/flaky") {
      flaky++;
      res.writeHead(flaky <= 2 ? 503 : 200).end("ok");
    } else if (req.url === "/moved") {
      res.writeHead(302, { location: "/flaky" }).end();
    } else {
      res.end("done");
    }
  });
  const s = new HTTPStream(fast);
  t.after(() => s.close().then(srv.close));
  const statuses: number[] = [];
  const poll = { request: { url: srv.url + "/poll", longPoll: true }, readback: (r: StreamResponse) => void statuses.push(r.status) };
  const moved = { request: { url: srv.url + "/moved" }, readback: (r: StreamResponse) => (statuses.push(r.status), poll) };
  const chain = s.add({ url: srv.url + "/flaky" }, (res) => (statuses.push(res.status), moved));
  await chain.done;
  assert.deepEqual(statuses, [200, 200, 200]);
  const st = s.stats();
  assert.equal(st.inFlight, 0);
  assert.equal(st.parked, 0);
  assert.equal(st.retried, 2);
  assert.equal(st.failed, 0);
  assert.equal(st.completed, 6); // every response received: /flaky's two 503s and its 200, the 302, /flaky again, the poll
});

test("counters settle once when the first attempt fails on the wire and no retry is left", async (t) => {
  // A port that refuses: bind one, close it, use its number.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const s = new HTTPStream(fast);
  t.after(() => s.close());
  const chain = s.add({ url: `http://127.0.0.1:${port}/x`, retry: false }, undefined, { onError: "end" });
  await assert.rejects(chain.done, (err: Error & { code?: string }) => err.code === "ECONNREFUSED");
  const st = s.stats();
  assert.equal(st.inFlight, 0);
  assert.equal(st.failed, 1);
  assert.equal(st.completed, 0);
});
