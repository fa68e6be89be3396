// STARTTLS (and direct TLS, xmpps://) against a Prosody that requires encryption and shows a
// self-signed certificate: verified by default (refused once, clearly, never retried), allowed
// only by verifyTls: false.
import tls from "node:tls";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { XmppAuthError } from "../../../bridge/xmpp/connection.ts";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { bridgeClient, captureLogger, joinRoom, tcpProxy } from "./helpers.ts";

const skip = await prosodyMissing();
let server: ProsodyServer;

before(async () => {
  if (skip) return;
  server = await startProsody({ tls: true, users: { bridge: "bridgepw" } });
});
after(() => server?.stop());

/** How many c2s streams Prosody encrypted so far. */
const encryptedStreams = () => server.log().match(/Stream encrypted/g)?.length ?? 0;

test("verifyTls: false upgrades with STARTTLS to the self-signed server, joins and sends", { skip }, async (t) => {
  const before = encryptedStreams();
  const bridge = bridgeClient(server, { verifyTls: false });
  t.after(() => bridge.stop());
  await bridge.start();
  // The server requires encryption: being online at all means the upgrade took our option.
  assert.equal(encryptedStreams(), before + 1);
  const room = `tls@${server.muc}`;
  await joinRoom(bridge, room);
  await bridge.send(room, "over TLS", { originId: "tls-1" });
});

test("by default the self-signed certificate is refused once, clearly, with no reconnect", { skip }, async (t) => {
  const proxy = await tcpProxy(server.c2sPort);
  t.after(() => proxy.close());
  const { logger, text } = captureLogger("info");
  // 1 ms backoff: a client that retried after the certificate failure would try many times below.
  const bridge = bridgeClient(server, { service: proxy.service, reconnect: { min: 1, max: 1 }, logger });
  t.after(() => bridge.stop());
  const room = `tls-refused@${server.muc}`;
  bridge.join(room);
  await assert.rejects(bridge.start(), (err: Error) => {
    assert.ok(err instanceof XmppAuthError);
    assert.equal(err.kind, "tls");
    assert.match(err.message, /TLS certificate of the server rejected \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    // Named as the config names it, not as the code does (it said "verifyTls").
    assert.match(err.message, /set xmpp\.verify_tls: false only for a self-signed test server/);
    assert.match(err.message, /not retrying/);
    return true;
  });
  assert.match(text(), /"level":50.*certificate of the server rejected.*not retrying/);
  assert.deepEqual(bridge.rooms(), [{ room, state: "failed", nick: "bridge", reason: "certificate-rejected" }]);

  // Give a storm the time of a whole other TLS login (through the same proxy) to show itself.
  const other = bridgeClient(server, { service: proxy.service, verifyTls: false });
  t.after(() => other.stop());
  await other.start();
  assert.equal(proxy.connections, 2, "one refused attempt, then only the other client's connection");
  assert.equal(text().match(/"msg":"connecting"/g)?.length, 1);
  assert.equal(bridge.online, false);
  await assert.rejects(bridge.start(), XmppAuthError); // and it stays failed
});

test("allowing one connection's self-signed server does not relax another connection (STARTTLS and xmpps://)", { skip }, async (t) => {
  for (const service of [server.service, server.directTlsService!]) {
    const insecure = bridgeClient(server, { service, verifyTls: false });
    t.after(() => insecure.stop());
    await insecure.start();
    const strict = bridgeClient(server, { service });
    t.after(() => strict.stop());
    await assert.rejects(strict.start(), (err: XmppAuthError) => err.reason === "certificate-rejected", service);
    assert.equal(insecure.online, true, service);
  }
});

test("direct TLS (xmpps://): refused by default, connects and joins with verifyTls: false", { skip }, async (t) => {
  const service = server.directTlsService!;
  const strict = bridgeClient(server, { service });
  t.after(() => strict.stop());
  await assert.rejects(strict.start(), (err: XmppAuthError) => err.kind === "tls" && /DEPTH_ZERO_SELF_SIGNED_CERT/.test(err.message));

  const bridge = bridgeClient(server, { service, verifyTls: false });
  t.after(() => bridge.stop());
  await bridge.start();
  const room = `direct-tls@${server.muc}`;
  await joinRoom(bridge, room);
  await bridge.send(room, "over direct TLS", { originId: "dtls-1" });
});

test("verification on: a certificate from a trusted CA naming the JID's domain is accepted (STARTTLS and xmpps://)", { skip }, async (t) => {
  // Trust the test certificate as a CA for this process, as an installed CA would be.
  const defaults = tls.getCACertificates("default");
  tls.setDefaultCACertificates([...defaults, server.certificate!]);
  t.after(() => tls.setDefaultCACertificates(defaults));
  // We dial 127.0.0.1; the certificate names "localhost", the JID's domain, which is what counts.
  for (const service of [server.service, server.directTlsService!]) {
    const bridge = bridgeClient(server, { service });
    t.after(() => bridge.stop());
    await bridge.start();
    assert.equal(bridge.online, true, service);
  }
});
