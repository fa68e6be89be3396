// What a reload applies to a running relay (in-process, memory room and networks over a real
// SQLite outbox): routes, formats and rate limits change live; a replaced network adapter's
// queue waits for its send in flight and goes out after; a new XMPP client takes the rooms over
// with a catch-up. Every check of "exactly once" waits for a sentinel sent after, then counts.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BridgeConfig } from "../../../bridge/config/types.ts";
import type { NetworkAdapter } from "../../../bridge/network.ts";
import { MemoryNetwork } from "../../helpers/memory-network.ts";
import { ROOM, startHarness } from "../relay/harness.ts";
import { MemoryRoomLink } from "../relay/memory-room.ts";

const OPS = "ops@conference.localhost";
const fast = { per_second: 10_000, burst: 10_000 };
const texts = (...nets: MemoryNetwork[]) => nets.flatMap((n) => n.sent.map((m) => m.text));

test("update: a new format and a new bridge apply at once; the replaced qq adapter settles its send in flight, then its successor sends the queue; each message once", { timeout: 10_000 }, async (t) => {
  const h = await startHarness(t);
  h.qq.hold();
  h.muc.post(ROOM, "carol", "one");
  await h.qq.waitForAttempts(1); // "one" is on the wire to the old qq adapter
  await h.tg.waitForSent(1);

  const qq2 = new MemoryNetwork({ id: "qq", groups: ["Dev"] });
  const bridges: BridgeConfig[] = [
    { xmpp: ROOM, format: "[{nick}] {text}", links: [{ network: "qq", group: "Dev" }] },
    { xmpp: OPS, format: "<{nick}> {text}", links: [{ network: "tg", group: "G1" }] },
  ];
  const updating = h.relay.update({ bridges, networks: new Map<string, NetworkAdapter>([["qq", qq2], ["tg", h.tg]]), rate: fast });
  // Said while the update waits for the old adapter's send: routed by the new config, queued.
  h.muc.post(ROOM, "carol", "two");
  assert.equal(qq2.attempts.length, 0, "the successor does not send while the old adapter has a send in flight");
  h.qq.release();
  await updating;
  assert.equal(h.qq.status().state, "stopped");
  assert.equal(qq2.status().state, "online");

  await h.tg.push({ group: "G1", text: "to ops", senderName: "dave" });
  await qq2.push({ group: "Dev", text: "to dev", senderName: "erin" });
  h.muc.post(ROOM, "carol", "sentinel");
  await qq2.waitForSent(2);
  await h.muc.waitForCount(OPS, 1);
  await h.muc.waitForCount(ROOM, 4);
  assert.deepEqual(texts(h.qq, qq2), ["<carol> one", "[carol] two", "[carol] sentinel"]);
  assert.deepEqual(texts(h.tg), ["<carol> one"], "tg left ROOM's bridge: nothing more from ROOM");
  assert.deepEqual(h.muc.bodies(OPS), ["<dave> to ops"]);
  assert.deepEqual(h.muc.bodies(ROOM).filter((b) => b.startsWith("[")), ["[erin] to dev"]);
  assert.equal(h.relay.health().rooms[OPS]?.state, "joined");

  // The ops bridge goes away again: its room is left, tg stops (no bridge uses it).
  await h.relay.update({ bridges: [bridges[0]!], networks: new Map<string, NetworkAdapter>([["qq", qq2]]), rate: fast });
  assert.equal(h.link.rooms().find((r) => r.room === OPS)?.state, "left");
  assert.equal(h.tg.status().state, "stopped");
  assert.deepEqual(Object.keys(h.relay.health().networks), ["qq"]);
});

test("update: a rate limit applies live; an item it holds back is not lost and goes out when a later reload lifts it", { timeout: 10_000 }, async (t) => {
  const h = await startHarness(t);
  const bridges: BridgeConfig[] = [{ xmpp: ROOM, format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev" }, { network: "tg", group: "G1" }] }];
  const networks = new Map<string, NetworkAdapter>([["qq", h.qq], ["tg", h.tg]]);
  // One message per 1000 s per target, one in the bucket: the second to qq must wait.
  await h.relay.update({ bridges, networks, rate: { per_second: 0.001, burst: 1 } });
  await h.tg.push({ group: "G1", text: "a" });
  await h.tg.push({ group: "G1", text: "b" });
  await h.qq.waitForSent(1);
  // Sentinel through another target (its own bucket): by then an unlimited qq would have sent "b".
  h.muc.post(ROOM, "carol", "sentinel");
  await h.tg.waitForSent(1);
  assert.deepEqual(texts(h.qq), ["<alice> a"]);
  assert.equal(h.outbox.queued().find((q) => q.target === "net:qq:Dev")?.n, 2, "b (and the sentinel behind it) wait in the outbox");

  await h.relay.update({ bridges, networks, rate: fast });
  h.muc.post(ROOM, "carol", "sentinel 2");
  await h.qq.waitForSent(4);
  assert.deepEqual(texts(h.qq), ["<alice> a", "<alice> b", "<carol> sentinel", "<carol> sentinel 2"]);
});

test("replaceRoomLink: a new XMPP client takes the rooms over; what the room said in between comes from the catch-up, once; a room send left unconfirmed around it is not resent", { timeout: 10_000 }, async (t) => {
  const h = await startHarness(t);
  h.muc.post(ROOM, "carol", "before");
  await h.qq.waitForSent(1);
  // A send to the room that reached it, its reflection lost: unconfirmed when the link changes.
  h.link.loseReflections(1);
  await h.qq.push({ group: "Dev", text: "reflection lost", senderName: "bob" });
  await h.muc.waitForCount(ROOM, 2);

  const link2 = new MemoryRoomLink(h.muc, "bridge");
  await h.relay.replaceRoomLink(link2, async () => {
    h.link.goOffline();
    h.muc.post(ROOM, "carol", "between"); // nobody of ours is in the room
  });
  await h.qq.push({ group: "Dev", text: "while joining", senderName: "bob" });
  link2.goOnline();
  h.muc.post(ROOM, "carol", "sentinel");
  await h.qq.waitForSent(3);
  await h.tg.waitForSent(5);
  await h.muc.waitForCount(ROOM, 5);
  const qq = texts(h.qq).map((x) => x.replace(/^\[[^\]]+ UTC\] /, ""));
  assert.deepEqual(qq, ["<carol> before", "<carol> between", "<carol> sentinel"]);
  // A resend of the unconfirmed send would reach the room before "while joining" (same queue).
  const room = h.muc.bodies(ROOM);
  assert.deepEqual(room.filter((b) => b.startsWith("<bob>")), ["<bob> reflection lost", "<bob> while joining"]);
  assert.equal(h.relay.health().rooms[ROOM]?.state, "joined");
  assert.deepEqual(texts(h.tg).map((x) => x.replace(/^\[[^\]]+ UTC\] /, "")), ["<carol> before", "<bob> reflection lost", "<bob> while joining", "<carol> between", "<carol> sentinel"]);
});

test("replaceRoomLink: the new client's message length (xmpp.max_message_length) splits what goes to the rooms from then on", { timeout: 10_000 }, async (t) => {
  const h = await startHarness(t);
  const link2 = new MemoryRoomLink(h.muc, "bridge");
  await h.relay.replaceRoomLink(link2, async () => h.link.goOffline(), 12);
  link2.goOnline();
  await h.qq.push({ group: "Dev", text: "abcdefghijklmnopqrstuvwxyz", senderName: "bob" });
  const bodies = await h.muc.waitForCount(ROOM, 3);
  assert.ok(bodies.every((b) => [...b].length <= 12), JSON.stringify(bodies));
  assert.equal(bodies.join("").replaceAll(" ", ""), "<bob>abcdefghijklmnopqrstuvwxyz");
});
