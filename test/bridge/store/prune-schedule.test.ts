import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Outbox } from "../../../bridge/store/outbox.ts";
import { schedulePrune } from "../../../bridge/store/prune-schedule.ts";

test("a long-running outbox forgets old delivered items and keys while it runs, not only at start", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pb-prune-"));
  const ob = new Outbox(join(dir, "outbox.sqlite"));
  t.after(() => {
    ob.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const [done, pending] = ob.accept({ sourceKey: "k", items: [{ bridge: "b", target: "t1", text: "x" }, { bridge: "b", target: "t2", text: "y" }] }, 1000) ?? [];
  assert.ok(done && pending);
  ob.markDelivered(done.id, undefined, 1000);
  const pruned = new Promise<void>((resolve) => {
    const schedule = schedulePrune(ob, { keepMs: 0, everyMs: 1, onError: (err) => assert.fail(String(err)), onPruned: () => (schedule.stop(), resolve()) });
  });
  await pruned;
  assert.equal(ob.get(done.id), undefined);
  assert.equal(ob.get(pending.id)?.state, "pending");
  assert.ok(!ob.seen("k"));
});
