// MucClient against a real Prosody: getting back into rooms after kicks, server restarts,
// silent removal, and keeping the other rooms working when one is lost for good.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { xml } from "../../../bridge/xmpp/xmpp-js.ts";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { XmppUser } from "../../helpers/xmpp-user.ts";
import { bridgeClient, captureLogger, joinRoom, joinedState, roomState, startedBridge, tcpProxy } from "./helpers.ts";

const skip = await prosodyMissing();
let server: ProsodyServer;
let n = 0;
const newRoom = () => `recover${++n}@conference.localhost`;

before(async () => {
  if (skip) return;
  server = await startProsody({ users: { bridge: "bridgepw", alice: "alicepw" } });
});
after(() => server?.stop());

async function alice(t: { after(fn: () => unknown): void }): Promise<XmppUser> {
  const user = await XmppUser.connect(server, "alice", "alicepw");
  t.after(() => user.stop());
  return user;
}

test("kicked (307): the room reports it and is rejoined", { skip }, async (t) => {
  const room = newRoom();
  const owner = await alice(t); // the room's creator is its owner and may kick
  const bridge = await startedBridge(t, server, room, { user: owner });

  const kicked = roomState(bridge, (s) => s.state === "joining");
  const rejoined = kicked.then(() => joinedState(bridge, room));
  await owner.kick(room, "bridge", "go away");
  assert.deepEqual(await kicked, { room, state: "joining", nick: "bridge", reason: "kicked: go away" });
  await rejoined;
  await bridge.send(room, "back again", { originId: "after-kick" });
  await owner.waitFor((m) => m.originId === "after-kick");
});

test("Prosody restarted: reconnected, every room rejoined once, no join tried while down, then a message gets through", { skip, timeout: 30_000 }, async (t) => {
  const [r1, r2] = [newRoom(), newRoom()];
  const { logger, text } = captureLogger("info");
  const bridge = bridgeClient(server, { logger });
  t.after(() => bridge.stop());
  let onlines = 0;
  bridge.on("online", () => onlines++);
  await bridge.start();
  await Promise.all([joinRoom(bridge, r1), joinRoom(bridge, r2)]);

  const offline = new Promise((resolve) => bridge.once("offline", () => resolve(undefined)));
  const back = new Promise((resolve) => bridge.once("online", () => resolve(undefined)));
  const rejoined = back.then(() => Promise.all([joinedState(bridge, r1), joinedState(bridge, r2)]));
  const states: string[] = [];
  bridge.on("room", (s) => s.room === r1 && states.push(s.state));
  await server.restart(); // non-persistent rooms vanish with the server; the bridge recreates them
  await offline;
  await rejoined;
  assert.equal(states[0], "joining", "a room is not reported joined while the server is gone");
  assert.equal(states.at(-1), "joined");
  assert.equal(onlines, 2);
  assert.deepEqual(bridge.rooms().map((s) => s.state), ["joined", "joined"]);
  // From the moment the connection was lost until the fresh session, no join was tried.
  const log = text();
  const down = log.indexOf('"msg":"disconnected"');
  const whileDown = log.slice(down, log.indexOf('"msg":"online"', down));
  assert.ok(down > 0 && whileDown.includes('"msg":"reconnecting after delay"'));
  // (Before the client noticed, a rejoin after the shutting-down server removed us may have
  // failed to go out: harmless, the fresh session joins.)
  assert.doesNotMatch(whileDown, /"msg":"joining room"|join presence not sent/);

  const user = await alice(t);
  await user.join(r2, "alice");
  await bridge.send(r2, "after restart", { originId: "after-restart" });
  assert.equal((await user.waitFor((m) => m.originId === "after-restart" && m)).body, "after restart");
});

test("self-ping (XEP-0410) notices that the room silently forgot us, and we rejoin", { skip }, async (t) => {
  const room = newRoom();
  const user = await alice(t);
  const bridge = await startedBridge(t, server, room, { selfPingInterval: 100, user });

  const noticed = roomState(bridge, (s) => s.state === "joining");
  const rejoined = noticed.then(() => joinedState(bridge, room));
  // Prosody's admin shell drops our occupant without sending any presence.
  await server.forgetOccupant(room, "bridge");
  assert.equal((await noticed).reason, "self-ping: not an occupant");
  await rejoined;
  await bridge.send(room, "noticed", { originId: "after-ghost" });
  await user.waitFor((m) => m.originId === "after-ghost");
});

test("banned from one room: that room fails with a reason, the other keeps working", { skip }, async (t) => {
  const [banned, fine] = [newRoom(), newRoom()];
  const owner = await alice(t);
  await owner.join(banned, "alice");
  await owner.join(fine, "alice");
  const bridge = bridgeClient(server);
  t.after(() => bridge.stop());
  await bridge.start();
  await Promise.all([joinRoom(bridge, banned), joinRoom(bridge, fine)]);

  const failed = roomState(bridge, (s) => s.state === "failed");
  await owner.xmpp.iqCaller.request(
    xml(
      "iq",
      { type: "set", to: banned },
      xml("query", { xmlns: "http://jabber.org/protocol/muc#admin" }, xml("item", { jid: "bridge@localhost", affiliation: "outcast" })),
    ),
  );
  assert.deepEqual(await failed, { room: banned, state: "failed", nick: "bridge", reason: "banned" });
  await assert.rejects(bridge.send(banned, "x"), /room not joined \(failed\)/);
  await bridge.send(fine, "still relaying", { originId: "fine-1" });
  await owner.waitFor((m) => m.originId === "fine-1");

  // Joining a room we are banned from fails at once with the same reason.
  await bridge.leave(banned);
  const again = roomState(bridge, (s) => s.room === banned && s.state === "failed");
  bridge.join(banned);
  assert.equal((await again).reason, "banned");
});

test("leave() leaves the room (others see the unavailable presence) and forgets it", { skip }, async (t) => {
  const room = newRoom();
  const user = await alice(t);
  const bridge = await startedBridge(t, server, room, { user });
  const gone = user.waitForStanza((s) => s.is("presence") && s.attrs.from === `${room}/bridge` && s.attrs.type === "unavailable");
  await bridge.leave(room);
  await gone;
  assert.deepEqual(bridge.rooms(), []);
});

test("a dropped connection is resumed (XEP-0198): rooms report the gap, then are joined again without a rejoin", { skip }, async (t) => {
  const room = newRoom();
  const user = await alice(t);
  await user.join(room, "alice");
  const proxy = await tcpProxy(server.c2sPort);
  t.after(() => proxy.close());
  const { logger, waitFor } = captureLogger("info");
  const bridge = bridgeClient(server, { service: proxy.service, logger });
  t.after(() => bridge.stop());
  await bridge.start();
  await joinRoom(bridge, room);
  await waitFor(/"msg":"joined room"/); // the log line follows the state event
  const states: string[] = [];
  bridge.on("room", (s) => states.push(`${s.state}${s.reason ? `:${s.reason}` : ""}`));
  let joinPresences = 0;
  bridge.on("room", (s) => void (s.state === "joining" && s.reason !== "offline" && joinPresences++));

  const back = new Promise((resolve) => bridge.once("online", () => resolve(undefined)));
  proxy.cut();
  await back;
  await waitFor(/"msg":"stream resumed"/);
  // While the connection was gone the room was not reported joined (health tells the truth);
  // the resumed stream kept our occupancy, so no join presence went out.
  assert.deepEqual(states, ["joining:offline", "joined"]);
  assert.equal(joinPresences, 0);
  assert.deepEqual(bridge.rooms().map((s) => s.state), ["joined"]);
  await bridge.send(room, "resumed", { originId: "after-resume" });
  await user.waitFor((m) => m.originId === "after-resume");
});
