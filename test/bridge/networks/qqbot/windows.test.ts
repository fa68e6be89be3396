// The reply-window and quota arithmetic on a clock we move: 5 minutes less a margin, 5 replies per
// group msg_id with msg_seq 1..5, the oldest open window first, the quota day of Beijing time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { REPLY_WINDOW_MS, ReplyWindows } from "../../../../bridge/networks/qqbot/windows.ts";

test("group windows: 5 replies each with msg_seq 1..5, the oldest open one first, closed 30 s before the platform's 5 minutes", () => {
  let now = 1_000_000;
  const w = new ReplyWindows({ now: () => now });
  const g = "group:X";
  assert.deepEqual(w.plan(g), { kind: "wait", untilMs: undefined });
  w.opened(g, "a");
  now += 1_000;
  w.opened(g, "b");
  w.opened(g, "a"); // redelivered: no second window
  const plans = Array.from({ length: 7 }, () => {
    const p = w.plan(g);
    w.spent(g, p);
    return p.kind === "passive" ? `${p.msgId}${p.msgSeq}` : p.kind;
  });
  assert.deepEqual(plans, ["a1", "a2", "a3", "a4", "a5", "b1", "b2"]);
  now += REPLY_WINDOW_MS - 1_000; // "a" is closed now, "b" is open for 1 more second
  assert.equal(w.isOpen(g, "a"), false);
  assert.deepEqual(w.plan(g), { kind: "passive", msgId: "b", msgSeq: 3 });
  now += 1_000;
  assert.equal(w.ready(g), false);
  assert.ok(REPLY_WINDOW_MS === 5 * 60_000 - 30_000);
});

test("channel quota: counted per Beijing day (resets at 16:00 UTC); a window needs none; the server's word wins", () => {
  let now = Date.parse("2026-11-30T15:59:00Z"); // 23:59 in Beijing
  const w = new ReplyWindows({ now: () => now, quotaPerDay: 2 });
  const c = "channel:1";
  for (let i = 0; i < 2; i++) {
    const p = w.plan(c);
    assert.equal(p.kind, "proactive");
    w.spent(c, p);
  }
  assert.deepEqual(w.plan(c), { kind: "wait", untilMs: Date.parse("2026-11-30T16:00:00Z") });
  w.opened(c, "m");
  assert.deepEqual(w.plan(c), { kind: "passive", msgId: "m", msgSeq: 1 });
  now = Date.parse("2026-11-30T16:00:00Z"); // a new day in Beijing
  assert.equal(w.quotaLeft(c), 2);
  w.quotaExhausted(c);
  assert.equal(w.quotaLeft(c), 0);
  const restored = new ReplyWindows({ now: () => now, quotaPerDay: 2 });
  restored.restore(w.snapshot());
  assert.equal(restored.quotaLeft(c), 0);
});
