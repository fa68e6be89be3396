// Password-protected rooms (XEP-0045 §7.2.6) against a real Prosody: the bridge joins with
// RoomOptions.password; a wrong or missing password fails that room only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { prosodyMissing } from "../../helpers/prosody.ts";
import { bridgeClient, captureLogger, joinRoom, prosodyWithAlice, roomState } from "./helpers.ts";

const skip = await prosodyMissing();
const SECRET = "open-sesame";
const { server, alice: owner } = await prosodyWithAlice(skip);
let n = 0;

/** A room alice created and protected with SECRET. */
async function protectedRoom(): Promise<string> {
  const room = `secret${++n}@${server.muc}`;
  await owner.join(room, "alice");
  await owner.configureRoom(room, { "muc#roomconfig_passwordprotectedroom": "1", "muc#roomconfig_roomsecret": SECRET });
  return room;
}

test("joins a password-protected room with RoomOptions.password, relays there, never logs it", { skip }, async (t) => {
  const room = await protectedRoom();
  const { logger, text } = captureLogger("trace");
  const bridge = bridgeClient(server, { logger });
  t.after(() => bridge.stop());
  await bridge.start();
  await joinRoom(bridge, room, { password: SECRET });
  await bridge.send(room, "inside", { originId: "pw-ok" });
  assert.equal((await owner.waitFor((m) => m.originId === "pw-ok" && m)).body, "inside");
  assert.match(text(), /"msg":"joined room"/);
  assert.doesNotMatch(text(), new RegExp(SECRET));
});

test("a wrong or missing password fails that room (not-authorized); other rooms keep working", { skip }, async (t) => {
  const [wrong, missing] = [await protectedRoom(), await protectedRoom()];
  const open = `open${++n}@${server.muc}`;
  await owner.join(open, "alice");
  const bridge = bridgeClient(server);
  t.after(() => bridge.stop());
  await bridge.start();

  const failedWrong = roomState(bridge, (s) => s.room === wrong && s.state === "failed");
  const failedMissing = roomState(bridge, (s) => s.room === missing && s.state === "failed");
  bridge.join(wrong, { password: "not-" + SECRET });
  bridge.join(missing);
  await joinRoom(bridge, open);
  assert.deepEqual(await failedWrong, { room: wrong, state: "failed", nick: "bridge", reason: "not-authorized" });
  assert.deepEqual(await failedMissing, { room: missing, state: "failed", nick: "bridge", reason: "not-authorized" });
  await assert.rejects(bridge.send(wrong, "x"), /room not joined \(failed\)/);

  await bridge.send(open, "still relaying", { originId: "open-1" });
  await owner.waitFor((m) => m.originId === "open-1");

  // The right password (a config fix) gets the failed room in.
  await joinRoom(bridge, wrong, { password: SECRET });
  await bridge.send(wrong, "fixed", { originId: "pw-fixed" });
  await owner.waitFor((m) => m.originId === "pw-fixed");
});
