// Zero loss from a room to a Telegram group, through the real relay, a real SQLite outbox, the
// real adapter and the simulator (issue 8): every send fault in both variants. Telegram gives a
// bot no echo and no history, so an unconfirmed send is resent: each message arrives at least
// once, and only an after-delivery fault can make one arrive twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { Relay } from "../../../../bridge/relay/relay.ts";
import { Outbox } from "../../../../bridge/store/outbox.ts";
import { MemoryMuc, MemoryRoomLink } from "../../relay/memory-room.ts";
import { DEV, harness } from "./harness.ts";

const ROOM = "dev@conference.localhost";

// Each message meets its own fault on its first send (the fault is queued just before the
// message is said, and the next message waits until this one arrived); the relay's resend of an
// unconfirmed send then delivers it, and only then is the next message said.
test("room → Telegram through every send fault, both variants: each message at least once, duplicates only from after-delivery faults", { timeout: 60_000 }, async (t) => {
  const h = await harness(t);
  const adapter = h.adapter({ sendTimeoutMs: 2000, groups: [DEV] });
  const dir = await mkdtemp(join(tmpdir(), "pb-tg-relay-"));
  const outbox = new Outbox(join(dir, "outbox.sqlite"));
  const muc = new MemoryMuc();
  const link = new MemoryRoomLink(muc, "bridge");
  const relay = new Relay({
    bridges: [{ xmpp: ROOM, format: "<{nick}> {text}", links: [{ network: "tg", group: DEV }] }],
    outbox,
    room: link,
    networks: new Map([["tg", adapter]]),
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

  const before = ["reset", "500", "stall"] as const;
  const after = ["reset-after", "500-after", "stall-after"] as const;
  for (const f of [...before, ...after]) {
    const settled = new Promise<void>((resolve) => {
      const on = (item: { text: string }, kind: string) => {
        if (kind !== "delivered" || item.text !== `<alice> ${f}`) return;
        relay.off("settled", on);
        resolve();
      };
      relay.on("settled", on);
    });
    h.sim.failNextSend(f);
    muc.post(ROOM, "alice", f);
    await settled; // resends included: the next fault is for the next message
  }
  muc.post(ROOM, "alice", "sentinel");
  await h.sim.state.waitFor(() => (h.sim.sent(DEV).some((m) => m.text === "<alice> sentinel") ? true : undefined), ["sent"]);
  const texts = h.sim.sent(DEV).map((m) => m.text);
  const count = (f: string) => texts.filter((x) => x === `<alice> ${f}`).length;
  for (const f of before) assert.equal(count(f), 1, `${f}: ${JSON.stringify(texts)}`); // nothing was delivered before the resend
  for (const f of after) assert.ok(count(f) >= 1 && count(f) <= 2, `${f}: ${JSON.stringify(texts)}`);
  assert.equal(count("sentinel"), 1);
  assert.ok(texts.length - (before.length + after.length + 1) <= after.length, "duplicates at most one per after-delivery fault");
});
