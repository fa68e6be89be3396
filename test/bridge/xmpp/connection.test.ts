// The connection under MucClient against a real Prosody: authentication (SCRAM by default, wrong
// password fatal without a reconnect storm, at start or on a later reconnect), secrets kept out of
// logs, start while the server is down.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { XmppAuthError, chooseMechanism, parseBareJid } from "../../../bridge/xmpp/connection.ts";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { XmppUser } from "../../helpers/xmpp-user.ts";
import { bridgeClient, captureLogger, joinRoom, tcpProxy } from "./helpers.ts";

const skip = await prosodyMissing();
const PASSWORD = "Zq8-very-secret-pw";
let server: ProsodyServer;

before(async () => {
  if (skip) return;
  server = await startProsody({ users: { bridge: PASSWORD, alice: "alicepw" } });
});
after(() => server?.stop());

test("SCRAM is chosen when offered; PLAIN only over a private stream (TLS or loopback), even when forced", () => {
  assert.equal(chooseMechanism(["SCRAM-SHA-1", "PLAIN"], undefined, false), "SCRAM-SHA-1");
  assert.equal(chooseMechanism(["PLAIN"], undefined, true), "PLAIN");
  assert.throws(() => chooseMechanism(["PLAIN"], undefined, false), (e: XmppAuthError) => e.kind === "tls" && /PLAIN needs TLS/.test(e.message));
  assert.equal(chooseMechanism(["SCRAM-SHA-1", "PLAIN"], "PLAIN", true), "PLAIN");
  assert.throws(() => chooseMechanism(["SCRAM-SHA-1", "PLAIN"], "PLAIN", false), (e: XmppAuthError) => e.kind === "tls" && /PLAIN refused/.test(e.message));
  assert.throws(() => chooseMechanism(["SCRAM-SHA-1"], "X-FOO", true), XmppAuthError);
});

test("a JID that is not user@domain[/resource] is a clear configuration error", () => {
  assert.deepEqual(parseBareJid("bridge@example.org/pb"), { local: "bridge", domain: "example.org", resource: "pb" });
  assert.throws(() => parseBareJid("example.org"), /xmpp.jid: "example.org" is not a JID/);
});

test("logs in with SCRAM-SHA-1 by default and never logs the password", { skip }, async (t) => {
  const { logger, text } = captureLogger("trace");
  const bridge = bridgeClient(server, { password: PASSWORD, saslMechanism: undefined, logger });
  t.after(() => bridge.stop());
  await bridge.start();
  const room = `scram@${server.muc}`;
  await joinRoom(bridge, room);
  await bridge.send(room, "hi");
  await bridge.stop();
  assert.match(text(), /"mechanism":"SCRAM-SHA-1"/);
  assert.doesNotMatch(text(), new RegExp(PASSWORD));
  assert.doesNotMatch(text(), new RegExp(Buffer.from(PASSWORD).toString("base64").slice(0, 12)));
});

test("a wrong password rejects start() with a clear error and no reconnect storm", { skip }, async (t) => {
  const { logger, text } = captureLogger("trace");
  // 1 ms backoff: a client that retried after an auth failure would try many times below.
  const bridge = bridgeClient(server, { password: "wrong-" + PASSWORD, reconnect: { min: 1, max: 1 }, logger });
  t.after(() => bridge.stop());
  await assert.rejects(bridge.start(), (err: Error) => {
    assert.ok(err instanceof XmppAuthError);
    assert.match(err.message, /XMPP authentication failed for bridge@localhost: not-authorized/);
    return true;
  });
  // Give a storm the time of a whole other login to show itself.
  const other = await XmppUser.connect(server, "alice", "alicepw");
  await other.stop();
  assert.equal(text().match(/"msg":"connecting"/g)?.length, 1);
  assert.equal(bridge.online, false);
  assert.doesNotMatch(text(), /wrong-Zq8/);
  assert.doesNotMatch(text(), /Zq8-very-secret/);
  await assert.rejects(bridge.start(), XmppAuthError); // and it stays failed
});

test("start() keeps trying while the server is down and resolves once it is up", { skip, timeout: 20_000 }, async (t) => {
  const down = await startProsody({ users: { bridge: PASSWORD } });
  t.after(() => down.stop());
  await down.stop({ keepDir: true });
  const { logger, waitFor } = captureLogger("info");
  const bridge = bridgeClient(down, { password: PASSWORD, reconnect: { min: 5, max: 20 }, logger });
  t.after(() => bridge.stop());
  const started = bridge.start();
  await waitFor(/"msg":"reconnecting after delay"/, 2); // it failed at least twice
  await down.start();
  await started;
  assert.equal(bridge.online, true);
});

test("a password changed on the server: the reconnect fails auth, error event, rooms failed, no storm", { skip, timeout: 30_000 }, async (t) => {
  await server.register("rotated", "old-pw");
  const proxy = await tcpProxy(server.c2sPort); // counts every connection attempt of the bridge
  t.after(() => proxy.close());
  const { logger, text } = captureLogger("info");
  // 1 ms backoff: a client that retried after the auth failure would try many times below.
  const bridge = bridgeClient(server, { jid: "rotated@localhost", password: "old-pw", service: proxy.service, reconnect: { min: 1, max: 1 }, logger });
  t.after(() => bridge.stop());
  await bridge.start();
  const room = `rotated@${server.muc}`;
  await joinRoom(bridge, room);

  const failed = new Promise<Error>((resolve) => bridge.once("error", resolve));
  const states: string[] = [];
  bridge.on("room", (s) => states.push(`${s.state}:${s.reason}`));
  await server.setPassword("rotated", "new-pw");
  await server.restart(); // the session ends; the fresh login uses the old password
  const err = await failed;
  const attempts = proxy.connections;
  assert.ok(err instanceof XmppAuthError);
  assert.equal(err.kind, "auth");
  assert.match(err.message, /XMPP authentication failed for rotated@localhost: not-authorized; not retrying/);
  assert.deepEqual(states, ["joining:offline", "failed:login-refused"]);
  assert.deepEqual(bridge.rooms(), [{ room, state: "failed", nick: "bridge", reason: "login-refused" }]);

  // Give a storm the time of a whole other login to show itself.
  const other = await XmppUser.connect(server, "alice", "alicepw");
  await other.stop();
  assert.equal(proxy.connections, attempts, "no connection attempt after the auth failure");
  assert.equal(bridge.online, false);
  assert.match(text(), /"level":50.*authentication failed for rotated@localhost.*not retrying/);
  assert.doesNotMatch(text(), /old-pw|new-pw/);
  await assert.rejects(bridge.send(room, "x"), /room not joined \(failed\)/);
});

test("a connection dropped while its stream opens is given up before the next attempt starts", { skip, timeout: 20_000 }, async (t) => {
  const proxy = await tcpProxy(server.c2sPort, { cutEarly: 1 });
  t.after(() => proxy.close());
  const { logger, text } = captureLogger("info");
  const bridge = bridgeClient(server, { password: PASSWORD, service: proxy.service, reconnect: { min: 1, max: 1 }, logger });
  t.after(() => bridge.stop());
  await bridge.start();
  // xmpp.js waits for the dropped stream's open until its timeout. Had the second attempt started
  // before that, the stale timeout would have torn the second (by then online) connection down.
  const lines = text().split("\n").map((l) => /"msg":"([^"]+)"/.exec(l)?.[1]).filter((m) => m && m !== "reconnecting after delay");
  assert.deepEqual(lines.slice(0, 4), ["connecting", "connection error", "connecting", "online"]);
  assert.equal(proxy.connections, 2);
  assert.equal(bridge.online, true);
});
