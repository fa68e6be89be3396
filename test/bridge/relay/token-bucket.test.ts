import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket } from "../../../bridge/relay/token-bucket.ts";

// A manual clock: sleeping advances it, so the bucket's waits are exact and instant.
function manualClock() {
  const c = { now: 0, slept: [] as number[] };
  return {
    c,
    now: () => c.now,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.now += ms;
    },
  };
}

test("the burst passes at once, then one token per 1/rate", async () => {
  const { c, now, sleep } = manualClock();
  const b = new TokenBucket({ perSecond: 4, burst: 2, now, sleep });
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    await b.take();
    times.push(c.now);
  }
  assert.deepEqual(times, [0, 0, 250, 500, 750]);
});

test("concurrent takers are all served, in call order (queue, never drop)", async () => {
  const { c, now, sleep } = manualClock();
  const b = new TokenBucket({ perSecond: 10, burst: 1, now, sleep });
  const order: number[] = [];
  await Promise.all(Array.from({ length: 20 }, (_, i) => b.take().then(() => order.push(i))));
  assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(c.now, 1900);
});

test("tokens refill over idle time up to the burst only", async () => {
  const { c, now, sleep } = manualClock();
  const b = new TokenBucket({ perSecond: 1, burst: 3, now, sleep });
  for (let i = 0; i < 3; i++) await b.take();
  c.now += 60_000;
  for (let i = 0; i < 3; i++) await b.take();
  assert.equal(c.slept.length, 0);
  await b.take();
  assert.deepEqual(c.slept, [1000]);
});

test("an aborted wait rejects and does not block later takers", async () => {
  const b = new TokenBucket({ perSecond: 1000, burst: 1 });
  await b.take();
  const ac = new AbortController();
  const waiting = b.take(ac.signal);
  ac.abort(new Error("stop"));
  await assert.rejects(waiting, /stop|aborted/);
  await b.take();
});

test("rejects a rate that would never refill", () => {
  assert.throws(() => new TokenBucket({ perSecond: 0, burst: 1 }), RangeError);
  assert.throws(() => new TokenBucket({ perSecond: 1, burst: 0 }), RangeError);
});
