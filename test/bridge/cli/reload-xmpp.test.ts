// What a reload asks of the XMPP client against a real Prosody: joining a room it holds already
// (a reload that keeps the room, or a new session object for it) reports the room's state at
// once, without a second join; a caller waiting for "joined" is not left waiting.
import assert from "node:assert/strict";
import { test } from "node:test";
import { prosodyMissing } from "../../helpers/prosody.ts";
import { joinRoom, nextMessage, prosodyWithAlice, startedBridge } from "../xmpp/helpers.ts";

const skip = await prosodyMissing();
const { server, alice } = await prosodyWithAlice(skip);

test("join of a room already joined reports it joined, with no second join; the room keeps working", { skip, timeout: 20_000 }, async (t) => {
  const room = "kept@conference.localhost";
  const bridge = await startedBridge(t, server, room, { user: alice });
  const presences = () => alice.stanzas.filter((s) => s.is("presence") && s.attrs.from === `${room}/bridge`).length;
  await alice.waitForStanza((s) => s.is("presence") && s.attrs.from === `${room}/bridge`, 10_000);
  const before = presences();
  assert.deepEqual(await joinRoom(bridge, room), { room, state: "joined", nick: "bridge" });
  // Sentinel: a message both ways after the second join, then count the bridge's presences.
  const seen = nextMessage(bridge, (m) => m.body === "sentinel");
  await alice.say(room, "sentinel");
  await seen;
  await bridge.send(room, "still here");
  await alice.waitFor((m) => m.body === "still here", 10_000);
  assert.equal(presences(), before, "no second join (no new presence of the bridge's occupant)");
  assert.deepEqual(bridge.rooms(), [{ room, state: "joined", nick: "bridge" }]);
});
