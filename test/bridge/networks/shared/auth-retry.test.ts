import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { authRetryDelay } from "../../../../bridge/networks/shared/auth-retry.ts";

test("auth retries wait base, then double, up to the cap", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => authRetryDelay(n, 100, 1_000)), [100, 200, 400, 800, 1_000, 1_000]);
  assert.equal(authRetryDelay(0, 100, 1_000), 100);
});

test("auth retry delays never shrink as failures grow and stay within [min(base, cap), cap]", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 3_600_000 }), fc.integer({ min: 1, max: 36_000_000 }), (n, base, cap) => {
      const d = authRetryDelay(n, base, cap);
      assert.ok(d <= cap && d >= Math.min(base, cap));
      assert.ok(authRetryDelay(n + 1, base, cap) >= d);
    }),
  );
});
