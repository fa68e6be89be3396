// Zero loss from a room to a OneBot 12 group, through the real relay, a real SQLite outbox, the
// real adapter and the simulator (issue 8): every send fault in both variants, and each message
// is in the group exactly once (the own echo settles a send whose answer was lost).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Relay } from "../../../../bridge/relay/relay.ts";
import { Outbox } from "../../../../bridge/store/outbox.ts";
import { MemoryMuc, MemoryRoomLink } from "../../relay/memory-room.ts";
import { GROUP, harness, member } from "./harness.ts";

const ROOM = "dev@conference.localhost";

test("room → OneBot 12 through every send fault, both variants: each message in the group exactly once", { timeout: 60_000 }, async (t) => {
  const h = await harness(t);
  const adapter = h.adapter({ sendTimeoutMs: 2000 });
  const dir = await mkdtemp(join(tmpdir(), "pb-ob12-relay-"));
  const outbox = new Outbox(join(dir, "outbox.sqlite"));
  const muc = new MemoryMuc();
  const link = new MemoryRoomLink(muc, "bridge");
  const relay = new Relay({
    bridges: [{ xmpp: ROOM, format: "<{nick}> {text}", links: [{ network: "ob12", group: GROUP }] }],
    outbox,
    room: link,
    networks: new Map([["ob12", adapter]]),
    logger: pino({ level: "silent" }),
    rate: { per_second: 10_000, burst: 10_000 },
    backoff: { min: 5, max: 40 },
  });
  t.after(async () => {
    await relay.stop(0);
    outbox.close();
    await rm(dir, { recursive: true, force: true });
  });
  await relay.start();
  link.goOnline();

  const faults = ["reset", "reset-after", "500", "500-after", "stall", "stall-after"] as const;
  for (const f of faults) h.sim.failNextSend(f);
  for (const f of faults) muc.post(ROOM, "alice", f);
  muc.post(ROOM, "alice", "sentinel");
  await h.sim.state.waitFor(() => (h.sim.sent(GROUP).some((m) => m.text === "<alice> sentinel") ? true : undefined));
  const texts = h.sim.sent(GROUP).map((m) => m.text);
  for (const f of [...faults, "sentinel"]) assert.equal(texts.filter((x) => x === `<alice> ${f}`).length, 1, `${f}: ${JSON.stringify(texts)}`);
  // In order, per target.
  assert.deepEqual(texts, [...faults, "sentinel"].map((f) => `<alice> ${f}`));
  // The own echoes never reach the room: a member's message after them (events come in order)
  // is the room's next message.
  h.sim.inject({ group: GROUP, member: member("20002", "bob"), message: "after" });
  const room = await muc.waitForCount(ROOM, faults.length + 2);
  assert.deepEqual(room, [...faults, "sentinel", "<bob> after"]);
});
