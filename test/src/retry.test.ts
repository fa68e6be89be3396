import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import pino from "pino";
import { backoffCap, backoffDelay, classifyFailure, DEFAULT_RETRY, HTTPStatusError, HTTPStream, isRetryable, parseRetryAfter, retryWait } from "../../src/index.ts";
import { listen } from "./loopback.ts";

const BEFORE_SEND = ["ECONNREFUSED", "UND_ERR_CONNECT_TIMEOUT", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"];
const AFTER_SEND = ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"];
const NOT_RETRIED = ["UND_ERR_ABORTED", "ABORT_ERR", "ERR_INVALID_ARG_TYPE", "UND_ERR_INVALID_ARG", "EACCES"];
const IDEMPOTENT = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];
const UNSAFE = ["POST", "PATCH", "CONNECT"];

function coded(code: string, wrap: number): unknown {
  let err: unknown = Object.assign(new Error(`failed ${code}`), { code });
  for (let i = 0; i < wrap; i++) err = new Error("wrapped", { cause: err });
  return err;
}

const status = (s: number) => new HTTPStatusError(s, {}, "http://x/", undefined);

test("before-send failures are retried for every method, however deeply wrapped", () => {
  fc.assert(
    fc.property(fc.constantFrom(...BEFORE_SEND), fc.constantFrom(...IDEMPOTENT, ...UNSAFE), fc.integer({ min: 0, max: 3 }), fc.boolean(), (code, method, wrap, safe) => {
      assert.equal(classifyFailure(coded(code, wrap)), "before-send");
      assert.equal(isRetryable(coded(code, wrap), { method, retrySafe: safe }), true);
    }),
  );
});

test("transport failures after sending are retried only for idempotent or retrySafe requests", () => {
  fc.assert(
    fc.property(fc.constantFrom(...AFTER_SEND), fc.constantFrom(...IDEMPOTENT, ...UNSAFE), fc.integer({ min: 0, max: 3 }), fc.boolean(), (code, method, wrap, safe) => {
      assert.equal(classifyFailure(coded(code, wrap)), "transport");
      assert.equal(isRetryable(coded(code, wrap), { method, retrySafe: safe }), safe || IDEMPOTENT.includes(method));
    }),
  );
});

test("statuses: only the retry set, and only for idempotent or retrySafe requests", () => {
  fc.assert(
    fc.property(fc.integer({ min: 100, max: 599 }), fc.constantFrom(...IDEMPOTENT, ...UNSAFE), fc.boolean(), (s, method, safe) => {
      const inSet = [408, 425, 429, 500, 502, 503, 504].includes(s);
      assert.equal(isRetryable(status(s), { method, retrySafe: safe }), inSet && (safe || IDEMPOTENT.includes(method)));
      assert.equal(isRetryable(status(s), { method, retrySafe: safe }, []), false);
    }),
  );
});

test("aborts, programming errors and non-errors are never retried", () => {
  fc.assert(
    fc.property(fc.constantFrom(...NOT_RETRIED), fc.constantFrom(...IDEMPOTENT, ...UNSAFE), (code, method) => {
      assert.equal(isRetryable(coded(code, 0), { method, retrySafe: true }), false);
    }),
  );
  fc.assert(fc.property(fc.anything(), (x) => {
    if (x instanceof Error) return;
    assert.equal(isRetryable(x, { method: "GET" }), false);
  }));
  assert.equal(isRetryable(new DOMException("aborted", "AbortError"), { method: "GET" }), false);
});

test("an AggregateError (dual-stack connect) is classified by its first error", () => {
  const agg = new AggregateError([coded("ECONNREFUSED", 0), coded("ECONNREFUSED", 0)], "connect failed");
  assert.equal(classifyFailure(agg), "before-send");
});

test("backoff stays within [0, min(max, min·factor^(attempt−1))] and is an integer", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 80 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.double({ min: 1, max: 4, noNaN: true }),
      fc.double({ min: 0, max: 0.999999, noNaN: true }),
      (attempt, min, max, factor, r) => {
        const d = backoffDelay(attempt, { min, max, factor }, () => r);
        assert.ok(Number.isInteger(d));
        assert.ok(d >= 0);
        assert.ok(d <= Math.min(max, min * factor ** (attempt - 1)), `${d} for attempt ${attempt}`);
      },
    ),
  );
});

test("full jitter reaches the cap: the largest random gives the (rounded-down) cap", () => {
  assert.equal(backoffDelay(1, { min: 100, max: 1000 }, () => 0.99999), 99);
  assert.equal(backoffDelay(4, { min: 100, max: 1000 }, () => 0.99999), 799);
  assert.equal(backoffDelay(10, { min: 100, max: 1000 }, () => 0.99999), 999);
  assert.equal(backoffDelay(3, { min: 100, max: 1000 }, () => 0), 0);
});

test("Retry-After: seconds or HTTP date; garbage is ignored", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7000);
  assert.equal(parseRetryAfter(["3", "9"], now), 3000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-5", now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test("retryWait honours Retry-After up to maxRetryAfter and never goes below the backoff", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }), fc.integer({ min: 0, max: 120_000 }), (attempt, after, cap) => {
      const opts = { ...DEFAULT_RETRY, maxRetryAfter: cap };
      const err = new HTTPStatusError(503, {}, "http://x/", after);
      const wait = retryWait(attempt, err, opts, () => 0.5);
      const backoff = backoffDelay(attempt, { min: opts.minTimeout, max: opts.maxTimeout, factor: opts.factor }, () => 0.5);
      assert.equal(wait, after === undefined ? backoff : Math.max(backoff, Math.min(after, cap)));
    }),
  );
});

test("requestSent decides before-send vs transport: false is retried for every method, true only when idempotent or retrySafe", () => {
  fc.assert(
    fc.property(fc.constantFrom(...BEFORE_SEND, ...AFTER_SEND), fc.constantFrom(...IDEMPOTENT, ...UNSAFE), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 2 }), (code, method, safe, sent, wrap) => {
      const err = Object.assign(new Error(`failed ${code}`), { code, requestSent: sent });
      const wrapped = wrap === 0 ? err : new Error("wrapped", { cause: wrap === 1 ? err : new Error("inner", { cause: err }) });
      assert.equal(classifyFailure(wrapped), sent ? "transport" : "before-send");
      assert.equal(isRetryable(wrapped, { method, retrySafe: safe }), !sent || safe || IDEMPOTENT.includes(method));
    }),
  );
  // An abort is never retried, sent or not.
  assert.equal(isRetryable(Object.assign(new Error("aborted"), { code: "UND_ERR_ABORTED", requestSent: false }), { method: "GET" }), false);
});

test("backoffCap is the ceiling of backoffDelay: deterministic, monotone, capped", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000_000 }), (attempt, min, max) => {
      const cap = backoffCap(attempt, { min, max });
      assert.equal(cap, min === 0 ? 0 : Math.min(max, min * 2 ** (attempt - 1)));
      assert.ok(backoffCap(attempt + 1, { min, max }) >= cap);
      assert.ok(backoffDelay(attempt, { min, max }, () => 0.999999) <= cap);
    }),
  );
});

// The engine retries exactly when the policy says so: random method, retrySafe and fault against a
// real server, hits counted there.
test("the engine follows isRetryable: hits are 1 + retries when it says retry, else 1", async (t) => {
  let hits = 0;
  const srv = await listen(async (req, res) => {
    hits++;
    for await (const _ of req);
    if (req.url === "/reset") return req.socket.destroy();
    res.writeHead(Number(req.url!.slice(2))).end();
  });
  const s = new HTTPStream({ logger: pino({ level: "silent" }), retry: { retries: 2, minTimeout: 1, maxTimeout: 2 } });
  t.after(() => s.close().then(srv.close));
  const faults = { "/s503": status(503), "/s429": status(429), "/s404": status(404), "/reset": Object.assign(new Error("reset"), { code: "UND_ERR_SOCKET", requestSent: true }) };
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...(Object.keys(faults) as (keyof typeof faults)[])), fc.constantFrom("GET", "PUT", "DELETE", "POST", "PATCH"), fc.boolean(), async (path, method, safe) => {
      hits = 0;
      const body = method === "GET" ? undefined : "x";
      await s.request({ url: srv.url + path, method, body, retrySafe: safe }).then(
        (res) => res.text(),
        () => undefined,
      );
      assert.equal(hits, isRetryable(faults[path], { method, retrySafe: safe }) ? 3 : 1, `${method} ${path} retrySafe=${safe}`);
    }),
    { numRuns: 40 },
  );
});
