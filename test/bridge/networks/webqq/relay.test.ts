// The WebQQ adapter under the real relay (SQLite outbox, in-memory room): what the room says while
// WebQQ needs a QR login waits in the outbox and goes out after the login; a send whose answer was
// lost is delivered at least once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import pino from "pino";
import type { NetworkAdapter } from "../../../../bridge/network.ts";
import { Relay } from "../../../../bridge/relay/relay.ts";
import { Outbox } from "../../../../bridge/store/outbox.ts";
import { MemoryMuc, MemoryRoomLink } from "../../relay/memory-room.ts";
import type { SendFault } from "../../../sim/webqq.ts";
import { harness, waitForStatus, type Adapter, type Harness } from "./harness.ts";

const ROOM = "dev@conference.localhost";

async function relayOver(t: Parameters<typeof harness>[0], h: Harness, adapter: Adapter): Promise<{ muc: MemoryMuc; relay: Relay }> {
  const outbox = new Outbox(join(h.stateDir, "outbox.sqlite"));
  const muc = new MemoryMuc();
  const link = new MemoryRoomLink(muc, "bridge");
  const relay = new Relay({
    bridges: [{ xmpp: ROOM, format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev Group" }] }],
    outbox,
    room: link,
    networks: new Map<string, NetworkAdapter>([["qq", adapter]]),
    logger: pino({ level: process.env.DBG ? "debug" : "silent" }),
    rate: { per_second: 10_000, burst: 10_000 },
    backoff: { min: 1, max: 20 },
  });
  await relay.start();
  link.goOnline();
  // Registered after the harness's own cleanup, so it runs first: the relay stops before the adapter.
  t.after(async () => {
    await relay.stop(0);
    outbox.close();
  });
  return { muc, relay };
}

test("room messages said while WebQQ is login-required wait in the outbox and go out, in order, after the QR login", { timeout: 20_000 }, async (t) => {
  const h = await harness(t, { autoScan: false });
  let shown!: () => void;
  const qrShown = new Promise<void>((r) => (shown = r));
  const adapter = h.adapter({ onQr: () => shown() });
  const { muc } = await relayOver(t, h, adapter); // the relay starts the network
  await qrShown;
  assert.equal(adapter.status().state, "login-required");
  muc.post(ROOM, "carol", "one");
  muc.post(ROOM, "carol", "two");
  const online = waitForStatus(adapter, "online");
  h.sim.scan();
  await online;
  const sent = await h.sim.waitForSent("Dev Group", 2);
  assert.deepEqual(sent.map((m) => m.text), ["<carol> one", "<carol> two"]);
  muc.post(ROOM, "carol", "sentinel");
  await h.sim.waitForSent("Dev Group", 3);
  assert.equal(h.sim.sent("Dev Group").length, 3);
});

for (const fault of ["reset", "reset-after", "500-after", "stall-after", "1202"] as SendFault[]) {
  test(`a send hit by ${String(fault)} is delivered at least once (the relay resends an unconfirmed WebQQ send)`, { timeout: 20_000 }, async (t) => {
    const h = await harness(t);
    const adapter = h.adapter({ sendTimeout: 400 });
    const online = waitForStatus(adapter, "online");
    const { muc } = await relayOver(t, h, adapter);
    await online;
    h.sim.failNextSend(fault);
    muc.post(ROOM, "carol", "hit");
    muc.post(ROOM, "carol", "sentinel");
    const sent = await h.sim.state.waitFor(() => (h.sim.sent("Dev Group").some((m) => m.text === "<carol> sentinel") ? h.sim.sent("Dev Group") : undefined), ["sent"]);
    const hits = sent.filter((m) => m.text === "<carol> hit").length;
    assert.ok(hits >= 1 && hits <= 2, `delivered ${hits} times`);
  });
}
