// The simulators' shared pieces: server (500 on a handler bug, close ends parked requests),
// control endpoints (sent, wait-sent, faults, 404, 400) and waitFor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { answerControl, type ControlState } from "./control.ts";
import { FaultDraw } from "./fault-draw.ts";
import { startSimServer } from "./server.ts";
import { waitFor } from "./wait-for.ts";

class State extends EventEmitter implements ControlState {
  sent: { group: string; text: string }[] = [];
  pollFaults: unknown[] = [];
  sendFaults: unknown[] = [];
  sendDraw = new FaultDraw();
  sentTo(group?: string) {
    return this.sent.filter((m) => group === undefined || m.group === group);
  }
  waitForSent(group: string, n: number, signal: AbortSignal) {
    return waitFor(this, () => (this.sentTo(group).length >= n ? this.sentTo(group) : undefined), ["sent"], signal);
  }
  send(group: string, text: string) {
    this.sent.push({ group, text });
    this.emit("sent");
  }
}

test("a sim server answers a handler's failure with 500, and close ends parked requests", async (t) => {
  const parked = new Set<ServerResponse>();
  const arrived = Promise.withResolvers<void>();
  const server = await startSimServer({
    handle: async (_req, res, url) => {
      if (url.pathname === "/bug") throw new Error("oops");
      parked.add(res);
      arrived.resolve();
    },
    open: () => parked,
  });
  t.after(() => server.close());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const bug = await fetch(`${server.url}/bug`);
  assert.equal(bug.status, 500);
  assert.equal(await bug.text(), "simulator error: oops");
  const hung = fetch(`${server.url}/park`);
  await arrived.promise;
  await server.close();
  await assert.rejects(hung);
});

test("the common control endpoints: sent, wait-sent, fail-poll/fail-send, 404 and 400; own routes first", async (t) => {
  const state = new State();
  const server = await startSimServer({
    handle: (req, res, url) => answerControl(url, req, res, state, { "/_sim/hello": () => ({ hi: true }), "/_sim/sent": () => "own wins" }),
    open: () => [],
  });
  t.after(() => server.close());
  const json = async (path: string, init?: RequestInit) => {
    const r = await fetch(`${server.url}${path}`, init);
    return { status: r.status, body: (await r.json()) as unknown };
  };
  assert.deepEqual(await json("/_sim/hello"), { status: 200, body: { hi: true } });
  assert.deepEqual(await json("/_sim/sent"), { status: 200, body: "own wins" });
  const waiting = json("/_sim/wait-sent?group=g&n=2");
  state.send("g", "a");
  state.send("h", "x");
  state.send("g", "b");
  assert.deepEqual(await waiting, { status: 200, body: [{ group: "g", text: "a" }, { group: "g", text: "b" }] });
  assert.deepEqual(await json("/_sim/fail-poll", { method: "POST", body: JSON.stringify({ fault: "reset", count: 2 }) }), { status: 200, body: { queued: 2 } });
  assert.deepEqual(await json("/_sim/fail-send", { method: "POST", body: JSON.stringify({ fault: { retcode: 1 } }) }), { status: 200, body: { queued: 1 } });
  assert.deepEqual(state.pollFaults, ["reset", "reset"]);
  assert.deepEqual(state.sendFaults, [{ retcode: 1 }]);
  assert.deepEqual(await json("/_sim/nope"), { status: 404, body: { error: "no control endpoint /_sim/nope" } });
  assert.deepEqual(await json("/_sim/fail-send", { method: "POST", body: "[1]" }), { status: 400, body: { error: "body is not a JSON object" } });
  assert.equal((await json("/_sim/fail-send", { method: "POST", body: "{bad" })).status, 400);
  assert.equal(state.sendFaults.length, 1);
});

test("waitFor resolves at once when true already, later on an event, and rejects on abort", async () => {
  const e = new EventEmitter();
  let n = 0;
  assert.equal(await waitFor(e, () => "now", ["x"]), "now");
  const later = waitFor(e, () => (n >= 2 ? n : undefined), ["x"]);
  n = 1;
  e.emit("x");
  n = 2;
  e.emit("x");
  assert.equal(await later, 2);
  assert.equal(e.listenerCount("x"), 0);
  const ac = new AbortController();
  const never = waitFor(e, () => undefined, ["x"], ac.signal);
  ac.abort(new Error("gave up"));
  await assert.rejects(never, /gave up/);
  assert.equal(e.listenerCount("x"), 0);
});

test("fault draw: per request at the configured rates, seeded, counted", () => {
  const draw = new FaultDraw();
  assert.equal(draw.draw(), undefined, "no rates: no faults, no counting");
  assert.deepEqual(draw.counts(), { requests: 0, injected: 0, after_delivery: 0, by_name: {} });
  draw.configure({ "reset-after": 1 });
  assert.equal(draw.draw(), "reset-after");
  assert.deepEqual(draw.counts(), { requests: 1, injected: 1, after_delivery: 1, by_name: { "reset-after": 1 } });
  const run = (seed: number) => {
    const d = new FaultDraw();
    d.configure({ reset: 0.05, "500-after": 0.05 }, seed);
    return Array.from({ length: 2000 }, () => d.draw());
  };
  const a = run(7);
  assert.deepEqual(run(7), a, "the same seed draws the same faults");
  const faults = a.filter((f) => f !== undefined).length;
  // 10% of 2000 = 200; a binomial sd of ~13 puts a correct draw well inside ±80.
  assert.ok(faults > 120 && faults < 280, `${faults} faults in 2000 draws at 10%`);
  assert.ok(a.includes("reset") && a.includes("500-after"));
  for (const bad of [{ nope: 0.1 }, { reset: 2 }, { reset: "0.1" }, { reset: 0.6, "500": 0.6 }, [0.1]]) assert.throws(() => draw.configure(bad), Error, JSON.stringify(bad));
  assert.throws(() => draw.configure({}, 1.5), /seed/);
  draw.configure({});
  assert.equal(draw.draw(), undefined, "{} turns drawing off");
});

test("control: /_sim/fault-rates sets the draw, /_sim/fault-counts reads it; 400 on bad rates, 404 without a draw", async (t) => {
  const state = new State();
  const bare: ControlState = { sentTo: () => [], waitForSent: async () => [], pollFaults: [], sendFaults: [] };
  const server = await startSimServer({ handle: (req, res, url) => answerControl(url, req, res, url.searchParams.has("bare") ? bare : state, {}), open: () => [] });
  t.after(() => server.close());
  const post = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  assert.equal((await post("/_sim/fault-rates", { send: { stall: 1 }, seed: 3 })).status, 200);
  assert.equal(state.sendDraw.draw(), "stall");
  assert.deepEqual(await (await fetch(`${server.url}/_sim/fault-counts`)).json(), { requests: 1, injected: 1, after_delivery: 0, by_name: { stall: 1 } });
  const bad = await post("/_sim/fault-rates", { send: { explode: 0.1 } });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /unknown send fault "explode"/);
  assert.equal((await post("/_sim/fault-rates?bare", { send: { reset: 0.1 } })).status, 404);
  assert.equal((await fetch(`${server.url}/_sim/fault-counts?bare`)).status, 404);
});
