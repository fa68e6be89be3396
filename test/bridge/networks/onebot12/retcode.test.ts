import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { classifyRetcode, classifySendFailure } from "../../../../bridge/networks/onebot12/retcode.ts";

test("retcode ranges: 1xxxx fatal (10101/10102 retry), 36xxx retry, 35xxx fatal, the rest (33xxx network too) unknown", () => {
  assert.equal(classifyRetcode(10003).kind, "fatal");
  assert.equal(classifyRetcode(10005).kind, "fatal");
  assert.equal(classifyRetcode(10101).kind, "retry");
  assert.equal(classifyRetcode(10102).kind, "retry");
  assert.equal(classifyRetcode(20002).kind, "unknown");
  assert.equal(classifyRetcode(31001).kind, "unknown");
  assert.equal(classifyRetcode(33001).kind, "unknown"); // the implementation's call to the platform failed: maybe it arrived
  assert.equal(classifyRetcode(34001).kind, "unknown");
  assert.equal(classifyRetcode(35001).kind, "fatal");
  const tired = classifyRetcode(36000);
  assert.equal(tired.kind, "retry");
  assert.ok(tired.retryAfterMs! > 0);
  assert.equal(classifyRetcode(60001).kind, "unknown");
});

test("HTTP statuses: 429/503 retry with Retry-After, 404/405/415 fatal, other 5xx unknown, auth retry slowly", () => {
  assert.deepEqual(classifySendFailure({ kind: "http", status: 429, retryAfterMs: 7_000 }).retryAfterMs, 7_000);
  assert.equal(classifySendFailure({ kind: "http", status: 503 }).kind, "retry");
  for (const s of [404, 405, 415]) assert.equal(classifySendFailure({ kind: "http", status: s }).kind, "fatal");
  for (const s of [500, 502, 504]) assert.equal(classifySendFailure({ kind: "http", status: s }).kind, "unknown");
  assert.equal(classifySendFailure({ kind: "malformed", detail: "x" }).kind, "unknown");
  const auth = classifySendFailure({ kind: "auth", status: 401 });
  assert.equal(auth.kind, "retry");
  assert.ok(auth.retryAfterMs! >= 60_000);
});

test("every retcode gets a verdict with a reason naming it", () => {
  fc.assert(
    fc.property(fc.integer({ min: -1, max: 99_999 }), (code) => {
      const v = classifyRetcode(code);
      assert.ok(["retry", "unknown", "fatal"].includes(v.kind));
      assert.ok(v.reason.includes(String(code)));
    }),
  );
});
