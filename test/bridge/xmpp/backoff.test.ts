import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fullJitter } from "../../../bridge/xmpp/backoff.ts";

test("full jitter stays within [1, min(max, min·2^attempt)]", () => {
  fc.assert(
    fc.property(
      fc.nat(100),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (attempt, min, extra, r) => {
        const max = min + extra;
        const d = fullJitter(attempt, { min, max }, () => r);
        assert.ok(d >= 1 && d <= Math.min(max, min * 2 ** attempt), `${d}`);
      },
    ),
  );
});

test("the ceiling grows with the attempt until the maximum", () => {
  const top = () => 0.999999;
  assert.equal(fullJitter(0, { min: 100, max: 1000 }, top), 99);
  assert.equal(fullJitter(2, { min: 100, max: 1000 }, top), 399);
  assert.equal(fullJitter(50, { min: 100, max: 1000 }, top), 999);
});
