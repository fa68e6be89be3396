import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { RepeatedWarning } from "../../../../bridge/networks/shared/repeated-warning.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "warn" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

test("the same warning is logged once per interval, then with the count of repeats it stood for", () => {
  const { log, lines } = capture();
  let now = 0;
  const w = new RepeatedWarning(log, { intervalMs: 60_000, now: () => now });
  for (let i = 0; i < 12_500; i++) w.warn("bad-update", { network: "tg" }, "update without update_id");
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.repeated, undefined);
  now = 60_000;
  assert.equal(w.warn("bad-update", { network: "tg" }, "update without update_id"), true);
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.repeated, 12_499);
});

test("different keys are independent", () => {
  const { log, lines } = capture();
  const w = new RepeatedWarning(log, { now: () => 0 });
  w.warn("a", {}, "a");
  w.warn("b", {}, "b");
  w.warn("a", {}, "a");
  assert.deepEqual(lines.map((l) => l.msg), ["a", "b"]);
});
