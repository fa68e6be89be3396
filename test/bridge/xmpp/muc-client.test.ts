// MucClient against a real Prosody: joining, sending, receiving.
import { test } from "node:test";
import assert from "node:assert/strict";
import { xml } from "../../../bridge/xmpp/xmpp-js.ts";
import type { RoomMessage } from "../../../bridge/xmpp/types.ts";
import { prosodyMissing } from "../../helpers/prosody.ts";
import { bridgeClient, captureLogger, joinRoom, nextMessage, prosodyWithAlice, startedBridge } from "./helpers.ts";

const log = captureLogger("info");

const skip = await prosodyMissing();
const { server, alice } = await prosodyWithAlice(skip);
let n = 0;
const newRoom = () => `room${++n}@conference.localhost`;

test("join waits for 110 and the subject; history in the room is not replayed", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  await alice.join(room, "alice");
  for (const body of ["old 1", "old 2", "old 3"]) await alice.say(room, body);

  // No fallback timer: only the subject that Prosody 0.12 sends (empty <subject/>) can end the join.
  const bridge = bridgeClient(server, { subjectTimeout: 2 ** 31 - 1 });
  t.after(() => bridge.stop());
  const seen: RoomMessage[] = [];
  bridge.on("message", (m) => seen.push(m));
  await bridge.start();
  const state = await joinRoom(bridge, room);
  assert.deepEqual(state, { room, state: "joined", nick: "bridge" });

  const live = nextMessage(bridge, (m) => m.body === "live");
  await alice.say(room, "live");
  const m = await live;
  assert.deepEqual(seen.map((x) => x.body), ["live"]);
  assert.equal(m.own, false);
  assert.equal(m.delayed, undefined);
  assert.equal(m.nick, "alice");
});

/** A room alice is in, where a first bridge client said "mine" (origin-id `originId`) and left. */
async function roomLeftAfterOwnMessage(originId: string): Promise<string> {
  const room = newRoom();
  await alice.join(room, "alice");
  const first = bridgeClient(server);
  await first.start();
  await joinRoom(first, room);
  await first.send(room, "mine", { originId });
  await first.stop();
  return room;
}

test("catch-up with since: history (own and others', delayed) arrives before the room is joined", { skip, timeout: 20_000 }, async (t) => {
  const room = await roomLeftAfterOwnMessage("mine-1");
  await alice.say(room, "theirs");

  const second = bridgeClient(server);
  t.after(() => second.stop());
  const events: string[] = [];
  const messages: RoomMessage[] = [];
  second.on("message", (m) => (events.push(`message ${m.body}`), messages.push(m)));
  second.on("room", (s) => events.push(`room ${s.state}`));
  await second.start();
  await joinRoom(second, room, { history: () => ({ since: new Date(Date.now() - 60_000) }) });

  assert.deepEqual(events, ["room joining", "message mine", "message theirs", "room joined"]);
  const [mine, theirs] = messages;
  assert.equal(mine!.own, true);
  assert.equal(mine!.originId, "mine-1");
  assert.ok(mine!.delayed instanceof Date);
  assert.equal(theirs!.own, false);
  assert.ok(theirs!.delayed instanceof Date);
  assert.equal(theirs!.time.getTime(), theirs!.delayed!.getTime());
});

test("catch-up longer than the room's history length (Prosody: 20): the rest comes from the room's archive, in order, once each", { skip, timeout: 60_000 }, async (t) => {
  const room = await roomLeftAfterOwnMessage("mine-long");
  for (let i = 0; i < 65; i++) await alice.say(room, `away ${i}`);

  const second = bridgeClient(server, { logger: log.logger });
  t.after(() => second.stop());
  const events: string[] = [];
  second.on("message", (m) => events.push(m.body));
  second.on("room", (s) => events.push(`room ${s.state}`));
  await second.start();
  // Said while the bridge pages through the archive: held, then released after it, once.
  const during = log.waitFor(/joining room/).then(() => alice.say(room, "during the catch-up"));
  await joinRoom(second, room, { history: () => ({ since: new Date(Date.now() - 60_000) }) });
  await during;
  const sentinel = nextMessage(second, (m) => m.body === "sentinel");
  await alice.say(room, "sentinel");
  await sentinel;

  const away = Array.from({ length: 65 }, (_, i) => `away ${i}`);
  const joinedAt = events.indexOf("room joined");
  assert.deepEqual(events.slice(0, joinedAt).filter((e) => e !== "during the catch-up"), ["room joining", "mine", ...away]);
  assert.equal(events.filter((e) => e === "during the catch-up").length, 1, "said during the catch-up: relayed once");
  assert.ok(events.indexOf("during the catch-up") > events.indexOf("away 64"), "after everything said before it");
  assert.match(log.text(), /caught up from the room's archive/);
});

test("a nick held by another client: joined under a suffixed nick, ownership by identity not nick text", { skip }, async (t) => {
  const room = newRoom();
  await alice.join(room, "bridge"); // alice holds the bridge's nick
  const bridge = bridgeClient(server);
  t.after(() => bridge.stop());
  await bridge.start();
  const state = await joinRoom(bridge, room);
  assert.equal(state.nick, "bridge_1");
  assert.deepEqual(bridge.rooms(), [{ room, state: "joined", nick: "bridge_1" }]);

  const fromAlice = nextMessage(bridge, (m) => m.body === "I am not the bridge");
  await alice.say(room, "I am not the bridge");
  assert.equal((await fromAlice).own, false);

  const reflection = nextMessage(bridge, (m) => m.body === "I am");
  await bridge.send(room, "I am");
  const r = await reflection;
  assert.equal(r.own, true);
  assert.equal(r.nick, "bridge_1");
  assert.equal(r.jid, "bridge@localhost");
});

test("a chosen origin-id is sent, and the room's reflection of it confirms delivery", { skip }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const reflected = nextMessage(bridge, (m) => m.originId === "chosen-1");
  const result = await bridge.send(room, "hello", { originId: "chosen-1" });
  const own = await reflected;
  assert.deepEqual(result, { originIds: ["chosen-1"], stanzaIds: [own.stanzaId] });
  assert.ok(own.stanzaId, "the room (mod_muc_mam) gave it a stanza-id");
  assert.equal(own.own, true);
  const atAlice = await alice.waitFor((m) => m.originId === "chosen-1" && m);
  assert.equal(atAlice.body, "hello");
  assert.equal(atAlice.nick, "bridge");
});

test("characters XML 1.0 forbids are stripped and the stream stays up", { skip }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  await bridge.send(room, "a\u0000b\u0007c\u001b[1md\uFFFFe\uD800f", { originId: "ctl-1" });
  assert.equal((await alice.waitFor((m) => m.originId === "ctl-1" && m)).body, "abc[1mdef");
  await bridge.send(room, "still here", { originId: "ctl-2" });
  assert.equal((await alice.waitFor((m) => m.originId === "ctl-2" && m)).body, "still here");
  assert.equal(bridge.online, true);
});

test("a 20,000-character message is split at maxBodyLength, every part confirmed", { skip }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { maxBodyLength: 10_000, user: alice });
  const text = Array.from({ length: 2500 }, (_, i) => `w${String(i).padStart(7, "0")} `).join("").slice(0, 20_000);
  assert.equal(text.length, 20_000);
  const { originIds } = await bridge.send(room, text, { originId: "long" });
  // Cuts prefer a space near the limit, so 20,000 characters of words take three parts.
  assert.deepEqual(originIds, ["long", "long.1", "long.2"]);
  await alice.waitFor((m) => m.originId === "long.2");
  const parts = originIds.map((id) => alice.messages.find((m) => m.originId === id)!);
  assert.deepEqual(parts.map((p) => alice.messages.indexOf(p)), parts.map((p) => alice.messages.indexOf(p)).sort((a, b) => a - b));
  assert.equal(parts.map((p) => p.body).join(""), text);
  for (const p of parts) assert.ok(p.body.length <= 10_000);
});

test("two rooms on one connection stay apart", { skip }, async (t) => {
  const [r1, r2] = [newRoom(), newRoom()];
  await alice.join(r1, "alice");
  await alice.join(r2, "alice");
  const bridge = bridgeClient(server);
  t.after(() => bridge.stop());
  await bridge.start();
  await Promise.all([joinRoom(bridge, r1), joinRoom(bridge, r2)]);
  await bridge.send(r1, "to one", { originId: "two-rooms-1" });
  await bridge.send(r2, "to two", { originId: "two-rooms-2" });
  const got1 = await alice.waitFor((m) => m.originId === "two-rooms-1" && m);
  const got2 = await alice.waitFor((m) => m.originId === "two-rooms-2" && m);
  assert.equal(got1.room, r1);
  assert.equal(got2.room, r2);

  const inbound = nextMessage(bridge, (m) => m.body === "in room two");
  await alice.say(r2, "in room two");
  assert.equal((await inbound).room, r2);
  assert.deepEqual(bridge.rooms().map((s) => s.state), ["joined", "joined"]);
});

test("sending to a room that is not joined, or an empty body, is refused clearly", { skip }, async (t) => {
  const room = newRoom();
  const bridge = bridgeClient(server);
  t.after(() => bridge.stop());
  await bridge.start();
  await assert.rejects(bridge.send(room, "x"), /room not joined \(unknown room\)/);
  await joinRoom(bridge, room);
  await assert.rejects(bridge.send(room, "\u0000\u0001"), /empty body/);
});

test("inbound corrections (XEP-0308) and real JIDs (shown to the room's owner) are reported", { skip }, async (t) => {
  const room = newRoom();
  const bridge = bridgeClient(server);
  t.after(() => bridge.stop());
  await bridge.start();
  await joinRoom(bridge, room); // the bridge creates the room: owner, sees real JIDs
  await alice.join(room, "alice");
  const original = nextMessage(bridge, (m) => m.body === "helo");
  const originalId = await alice.say(room, "helo");
  assert.equal((await original).jid, "alice@localhost");

  const corrected = nextMessage(bridge, (m) => m.body === "hello");
  await alice.xmpp.send(
    xml("message", { to: room, type: "groupchat", id: "fix-1" }, xml("body", {}, "hello"), xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: originalId })),
  );
  const m = await corrected;
  assert.equal(m.replaces, originalId);
  assert.equal(m.own, false);
});

test("messages() is an async stream of the same messages", { skip }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const stream = bridge.messages()[Symbol.asyncIterator]();
  const next = stream.next();
  await alice.say(room, "streamed");
  const { value } = await next;
  assert.equal((value as RoomMessage).body, "streamed");
  await stream.return?.();
});
