// XMPP over WebSocket (RFC 7395): a `ws://` service (which the config allows) logs in, joins, has
// a send confirmed by the room's reflection and receives what a user says, on real Prosody
// (mod_websocket). It runs on the same composed client as TCP: a transport of ours, no patch.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { XmppUser } from "../../helpers/xmpp-user.ts";
import { bridgeClient, captureLogger, joinRoom, nextMessage } from "./helpers.ts";

const skip = await prosodyMissing();
let server: ProsodyServer;
let alice: XmppUser;

before(async () => {
  if (skip) return;
  server = await startProsody({ websocket: true, users: { bridge: "bridgepw", alice: "alicepw" } });
  alice = await XmppUser.connect(server, "alice", "alicepw");
});
after(async () => {
  await alice?.stop();
  await server?.stop();
});

test("ws:// (loopback): logs in, joins, a send is confirmed, a user's message arrives", { skip }, async (t) => {
  const { logger, text } = captureLogger("debug");
  const bridge = bridgeClient(server, { service: server.websocketService!, logger });
  t.after(() => bridge.stop());
  await bridge.start();
  assert.match(text(), /"service":"ws:\/\/127\.0\.0\.1:\d+\/xmpp-websocket","msg":"connecting"/);
  const room = `websocket@${server.muc}`;
  await alice.join(room, "alice");
  await joinRoom(bridge, room);
  await bridge.send(room, "over a websocket", { originId: "ws-1" });
  await alice.waitFor((m) => m.originId === "ws-1" && m);
  const heard = nextMessage(bridge, (m) => m.body === "back over the websocket");
  await alice.say(room, "back over the websocket");
  assert.equal((await heard).nick, "alice");
});
