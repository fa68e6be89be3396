// The Room state machine on its own: which presence errors answer our join.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { RoomCatchUp } from "../../../bridge/xmpp/catch-up.ts";
import { Room } from "../../../bridge/xmpp/room.ts";
import { parseMucPresence } from "../../../bridge/xmpp/stanzas.ts";
import type { RoomState } from "../../../bridge/xmpp/types.ts";
import { xml, type XmlElement } from "../../../bridge/xmpp/xmpp-js.ts";

const ROOM = "dev@conference.localhost";

function joiningRoom(t: { after(fn: () => unknown): void }, opts: { sendFails?: boolean } = {}) {
  const sent: XmlElement[] = [];
  const states: RoomState[] = [];
  const log = pino({ level: "silent" });
  const catchUp = new RoomCatchUp({ room: ROOM, request: () => Promise.reject(new Error("no archive here")), release: () => undefined, log });
  const room = new Room(ROOM, "bridge", {}, {
    catchUp,
    send: async (stanza) => {
      sent.push(stanza);
      if (opts.sendFails) throw new Error("socket closed");
    },
    onState: (s) => states.push(s),
    log,
    rejoinBackoff: { min: 1000, max: 1000 },
    subjectTimeout: 60_000,
    joinTimeout: 60_000,
  });
  t.after(() => room.dispose());
  room.join();
  return { room, sent, states };
}

const errorPresence = (condition: string, id?: string) =>
  parseMucPresence(
    xml(
      "presence",
      { from: `${ROOM}/bridge`, type: "error", ...(id ? { id } : {}) },
      xml("error", { type: "cancel" }, xml(condition, { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" })),
    ),
  )!;

test("an error answering our join presence (same id) fails the room", (t) => {
  const { room, sent } = joiningRoom(t);
  const id = sent[0]!.attrs.id;
  assert.ok(id, "the join presence carries an id");
  room.onPresence(errorPresence("not-authorized", id));
  assert.deepEqual(room.snapshot(), { room: ROOM, state: "failed", nick: "bridge", reason: "not-authorized" });
});

test("a bounce of another presence (no id, or another id) while joining is not a join error", (t) => {
  const { room, sent } = joiningRoom(t);
  room.onPresence(errorPresence("item-not-found"));
  room.onPresence(errorPresence("item-not-found", "someone-elses"));
  assert.equal(room.state, "joining");
  // The real answer still counts.
  room.onPresence(errorPresence("forbidden", sent[0]!.attrs.id));
  assert.deepEqual(room.snapshot(), { room: ROOM, state: "failed", nick: "bridge", reason: "banned" });
});

test("each join (e.g. after a nick conflict) answers to its own id", (t) => {
  const { room, sent } = joiningRoom(t);
  room.onPresence(errorPresence("conflict", sent[0]!.attrs.id));
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.attrs.to, `${ROOM}/bridge_1`);
  assert.notEqual(sent[1]!.attrs.id, sent[0]!.attrs.id);
  room.onPresence(errorPresence("conflict", sent[0]!.attrs.id)); // late duplicate of the first answer
  assert.equal(sent.length, 2);
  assert.equal(room.nick, "bridge_1");
});

test("a join presence that could not be written is retried after a backoff, unless the connection dropped meanwhile", async (t) => {
  const failing = joiningRoom(t, { sendFails: true });
  await new Promise((r) => setImmediate(r)); // the failed write's handler has run
  assert.deepEqual(failing.room.snapshot(), { room: ROOM, state: "joining", nick: "bridge", reason: "join presence not sent" });

  const dropped = joiningRoom(t, { sendFails: true });
  dropped.room.suspend(); // the offline event came before the write's failure
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(dropped.room.snapshot(), { room: ROOM, state: "joining", nick: "bridge", reason: "offline" });
});
