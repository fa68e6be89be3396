import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { idleBackoff, idlePause, isEarlyEmpty, pollHttpTimeout } from "../../../../bridge/networks/onebot12/poller.ts";

test("an empty answer is early when it came in under half the asked hold", () => {
  assert.equal(isEarlyEmpty(0, 10, 30), true);
  assert.equal(isEarlyEmpty(0, 29_000, 30), false);
  assert.equal(isEarlyEmpty(3, 10, 30), false);
});

test("the HTTP timeout of a poll is above the asked hold", () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3600 }), (s) => pollHttpTimeout(s) > s * 1000));
});

test("idle pauses: none before an early empty, then the project's backoff, never below the idle minimum nor above its cap", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 120_000 }), fc.integer({ min: 1, max: 120_000 }), fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 1, max: 200 }), (min, max, timeout, n) => {
      const b = idleBackoff({ min, max }, timeout);
      assert.ok(b.min >= 1 && b.max <= 5_000 && b.max <= timeout * 1000 && b.min <= b.max);
      const d = idlePause(n, b);
      assert.ok(d >= b.min && d <= b.max);
    }),
  );
  assert.equal(idlePause(0, { min: 5, max: 40 }), 0);
});
