// The gauges are read when /metrics is scraped (prom-client collect()), from the real outbox:
// a scrape shows the queues as they are, and accepting or settling messages never counts the
// outbox (no GROUP BY on the hot path).
import { test } from "node:test";
import assert from "node:assert/strict";
import { BridgeMetrics } from "../../../bridge/observe/metrics.ts";
import type { Outbox } from "../../../bridge/store/outbox.ts";
import type { Relay } from "../../../bridge/relay/relay.ts";
import { ROOM, settled, startHarness } from "./harness.ts";

/** Counts calls of the outbox's GROUP BY queries (queued, deadLetters) on this instance. */
function countGroupBys(outbox: Outbox): { n: number } {
  const count = { n: 0 };
  for (const name of ["queued", "deadLetters"] as const) {
    const real = outbox[name].bind(outbox);
    Object.defineProperty(outbox, name, { value: (...args: []) => (count.n++, real(...args)) });
  }
  return count;
}

/** Resolves once `n` items of `target` were confirmed delivered (committed, not just sent). */
function delivered(relay: Relay, target: string, n: number): Promise<void> {
  return new Promise((resolve) => {
    const on = (item: { target: string }, kind: string) => {
      if (kind !== "delivered" || item.target !== target || --n > 0) return;
      relay.off("settled", on);
      resolve();
    };
    relay.on("settled", on);
  });
}

const line = (text: string, re: RegExp) => text.split("\n").find((l) => re.test(l));

test("a scrape shows each target's queue, the depth, dead letters and states; the hot path never counts the outbox", async (t) => {
  const metrics = new BridgeMetrics();
  const h = await startHarness(t, { relay: { metrics } });
  const groupBys = countGroupBys(h.outbox);
  h.qq.setOnline(false);
  h.tg.failNext({ kind: "fatal" });
  const dead = settled(h.relay, "dead-letter");
  const toTg = delivered(h.relay, "net:tg:G1", 2); // "two" and "three"; "one" is a dead letter
  for (const text of ["one", "two", "three"]) h.muc.post(ROOM, "carol", text);
  await dead;
  await toTg;
  assert.equal(groupBys.n, 0, "accepting and settling ran no GROUP BY");

  let text = await metrics.registry.metrics();
  assert.equal(groupBys.n, 2, "one scrape: one GROUP BY for the queues, one for the dead letters");
  assert.equal(line(text, /^pollbridge_messages_queued\{.*net:qq:Dev/), `pollbridge_messages_queued{bridge="${ROOM}",target="net:qq:Dev"} 3`);
  assert.equal(line(text, /^pollbridge_messages_queued\{.*net:tg:G1/), `pollbridge_messages_queued{bridge="${ROOM}",target="net:tg:G1"} 0`);
  assert.equal(line(text, /^pollbridge_outbox_depth /), "pollbridge_outbox_depth 3");
  assert.equal(line(text, /^pollbridge_dead_letters\{/), `pollbridge_dead_letters{target="net:tg:G1"} 1`);
  assert.equal(line(text, /^pollbridge_room_state\{/), `pollbridge_room_state{room="${ROOM}",state="joined"} 1`);
  assert.equal(line(text, /^pollbridge_network_state\{network="qq"/), `pollbridge_network_state{network="qq",state="relogin"} 1`);
  assert.equal(line(text, /^pollbridge_network_state\{network="tg"/), `pollbridge_network_state{network="tg",state="online"} 1`);
  assert.equal(line(text, /^pollbridge_messages_failed_total\{/), `pollbridge_messages_failed_total{bridge="${ROOM}",target="net:tg:G1"} 1`);

  const toQq = delivered(h.relay, "net:qq:Dev", 3);
  h.qq.setOnline(true);
  await toQq;
  text = await metrics.registry.metrics();
  assert.equal(line(text, /^pollbridge_messages_queued\{.*net:qq:Dev/), `pollbridge_messages_queued{bridge="${ROOM}",target="net:qq:Dev"} 0`);
  assert.equal(line(text, /^pollbridge_outbox_depth /), "pollbridge_outbox_depth 0");
  assert.equal(line(text, /^pollbridge_network_state\{network="qq"/), `pollbridge_network_state{network="qq",state="online"} 1`);
  assert.equal(line(text, /^pollbridge_messages_relayed_total\{.*net:qq:Dev/), `pollbridge_messages_relayed_total{bridge="${ROOM}",target="net:qq:Dev"} 3`);
});
