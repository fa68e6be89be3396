// xmpp.tls: TLS is required unless the service is on loopback. A server that offers no STARTTLS
// is refused once, clearly, before any SASL byte; PLAIN never crosses an unencrypted stream that
// leaves the machine, whatever sasl_mechanism says. A capturing TCP proxy shows the bytes sent.
//
// "Not loopback" is decided on the configured address, so the proxy listens on an address of this
// machine that is NOT loopback (its first non-internal interface address, e.g. 192.0.2.2; without
// one, the machine's host name): the bridge dials a real non-loopback address, and the proxy
// forwards to Prosody on 127.0.0.1.
import { createConnection, createServer, type Socket } from "node:net";
import { lookup } from "node:dns/promises";
import { hostname, networkInterfaces } from "node:os";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { XmppAuthError } from "../../../bridge/xmpp/connection.ts";
import { isLoopbackHost } from "../../../bridge/config/loopback.ts";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { bridgeClient, captureLogger } from "./helpers.ts";

/**
 * Where the proxy listens and how the bridge names it: an IPv4 address of this machine that is not
 * loopback; else this machine's host name (not loopback as written) where it resolves to.
 */
async function nonLoopbackAddress(): Promise<{ listen: string; name: string } | undefined> {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return { listen: a.address, name: a.address };
  }
  const name = hostname();
  if (isLoopbackHost(name)) return undefined;
  try {
    return { listen: (await lookup(name, { family: 4 })).address, name };
  } catch {
    return undefined;
  }
}

const remoteAddress = await nonLoopbackAddress();
const remote = remoteAddress?.name;
const skip = (await prosodyMissing()) ?? (remote ? undefined : "this machine has no non-loopback address to listen on");
let plain: ProsodyServer; // no TLS at all: c2s offers no STARTTLS
let tlsServer: ProsodyServer; // STARTTLS required, self-signed

before(async () => {
  if (skip) return;
  [plain, tlsServer] = await Promise.all([
    startProsody({ users: { bridge: "bridgepw" } }),
    startProsody({ tls: true, users: { bridge: "bridgepw" } }),
  ]);
});
after(() => Promise.all([plain?.stop(), tlsServer?.stop()]));

interface CaptureProxy {
  service: string;
  readonly connections: number;
  /** Everything the client sent, as text. */
  sent(): string;
  close(): Promise<void>;
}

/** A TCP proxy on `host` (named `name` in its service URL) to 127.0.0.1:port that records what the client sends. */
async function captureProxy(host: string, port: number, name = host): Promise<CaptureProxy> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let sent = "";
  const proxy = createServer((client) => {
    connections++;
    const upstream = createConnection(port, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (chunk: Buffer) => (sent += chunk.toString("latin1")));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, host, resolve));
  const { port: proxyPort } = proxy.address() as { port: number };
  return {
    service: `xmpp://${name}:${proxyPort}`,
    get connections() {
      return connections;
    },
    sent: () => sent,
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), proxy.close(() => resolve()))),
  };
}

const PLAIN_PASSWORD = Buffer.from("\0bridge\0bridgepw").toString("base64");

test("tls required (the default): a non-loopback server without STARTTLS is refused before SASL, once, never retried", { skip }, async (t) => {
  const proxy = await captureProxy(remoteAddress!.listen, plain.c2sPort, remote);
  t.after(() => proxy.close());
  const { logger, text } = captureLogger("info");
  // PLAIN forced (as the test helper does) and a 1 ms backoff: a retry would show at once.
  const bridge = bridgeClient(plain, { service: proxy.service, reconnect: { min: 1, max: 1 }, logger });
  t.after(() => bridge.stop());
  await assert.rejects(bridge.start(), (err: Error) => {
    assert.ok(err instanceof XmppAuthError);
    assert.equal(err.kind, "tls");
    assert.match(err.message, new RegExp(`XMPP server ${remote!.replaceAll(".", "\\.")} offered no STARTTLS and xmpp\\.tls is required.*not retrying`));
    return true;
  });
  assert.match(proxy.sent(), /<stream:stream/, "the capture saw the stream");
  assert.doesNotMatch(proxy.sent(), /<auth/, "no SASL exchange started");
  assert.ok(!proxy.sent().includes("bridgepw") && !proxy.sent().includes(PLAIN_PASSWORD));

  // Give a storm the time of a whole login elsewhere to show itself.
  const other = bridgeClient(plain);
  t.after(() => other.stop());
  await other.start();
  assert.equal(proxy.connections, 1);
  assert.equal(text().match(/"msg":"connecting"/g)?.length, 1);
  await assert.rejects(bridge.start(), XmppAuthError); // and it stays failed
});

test("tls required, no STARTTLS offered: every room fails with reason tls-required (not certificate-rejected)", { skip }, async (t) => {
  const proxy = await captureProxy(remoteAddress!.listen, plain.c2sPort, remote);
  t.after(() => proxy.close());
  const bridge = bridgeClient(plain, { service: proxy.service, reconnect: { min: 1, max: 1 } });
  t.after(() => bridge.stop());
  const rooms = [`tls-needed@${plain.muc}`, `tls-needed-2@${plain.muc}`];
  for (const room of rooms) bridge.join(room);
  await assert.rejects(bridge.start(), (err: Error) => err instanceof XmppAuthError && err.reason === "tls-required" && err.kind === "tls");
  assert.deepEqual(bridge.rooms(), rooms.map((room) => ({ room, state: "failed", nick: "bridge", reason: "tls-required" })));
});

test("tls opportunistic: sasl_mechanism PLAIN is refused on the unencrypted non-loopback stream; no PLAIN auth crosses it", { skip }, async (t) => {
  const proxy = await captureProxy(remoteAddress!.listen, plain.c2sPort, remote);
  t.after(() => proxy.close());
  const bridge = bridgeClient(plain, { service: proxy.service, tls: "opportunistic", saslMechanism: "PLAIN", reconnect: { min: 1, max: 1 } });
  t.after(() => bridge.stop());
  await assert.rejects(bridge.start(), (err: Error) => err instanceof XmppAuthError && err.kind === "tls" && /PLAIN refused: it would send the password in clear/.test(err.message));
  assert.match(proxy.sent(), /<stream:stream/);
  assert.doesNotMatch(proxy.sent(), /mechanism=["']PLAIN/);
  assert.ok(!proxy.sent().includes(PLAIN_PASSWORD) && !proxy.sent().includes("bridgepw"));
  assert.equal(proxy.connections, 1);
});

test("tls opportunistic without a forced mechanism: SCRAM over the unencrypted stream, with a warning, never PLAIN", { skip }, async (t) => {
  const proxy = await captureProxy(remoteAddress!.listen, plain.c2sPort, remote);
  t.after(() => proxy.close());
  const { logger, text } = captureLogger("info");
  const bridge = bridgeClient(plain, { service: proxy.service, tls: "opportunistic", saslMechanism: undefined, logger });
  t.after(() => bridge.stop());
  await bridge.start();
  assert.match(proxy.sent(), /<auth [^>]*mechanism=["']SCRAM-SHA-1/);
  assert.doesNotMatch(proxy.sent(), /PLAIN/);
  assert.ok(!proxy.sent().includes("bridgepw"));
  assert.match(text(), /"level":40.*UNENCRYPTED connection/);
});

test("loopback: the default (required) logs in without TLS, and PLAIN is allowed there", { skip }, async (t) => {
  const proxy = await captureProxy("127.0.0.1", plain.c2sPort);
  t.after(() => proxy.close());
  const bridge = bridgeClient(plain, { service: proxy.service });
  t.after(() => bridge.stop());
  await bridge.start();
  assert.equal(bridge.online, true);
  assert.match(proxy.sent(), /<auth [^>]*mechanism=["']PLAIN/);
});

test("tls off: an offered STARTTLS is not taken; a server that requires it is a clear final error", { skip }, async (t) => {
  const proxy = await captureProxy("127.0.0.1", tlsServer.c2sPort);
  t.after(() => proxy.close());
  const bridge = bridgeClient(tlsServer, { service: proxy.service, tls: "off", reconnect: { min: 1, max: 1 } });
  t.after(() => bridge.stop());
  await assert.rejects(bridge.start(), (err: Error) => err instanceof XmppAuthError && err.kind === "tls" && /requires TLS, but xmpp\.tls is off/.test(err.message));
  assert.doesNotMatch(proxy.sent(), /<starttls/);
  assert.doesNotMatch(proxy.sent(), /<auth/);
  assert.equal(proxy.connections, 1);
});

test("tls required on a non-loopback service with STARTTLS: upgraded, then logged in (PLAIN is fine inside TLS)", { skip }, async (t) => {
  const proxy = await captureProxy(remoteAddress!.listen, tlsServer.c2sPort, remote);
  t.after(() => proxy.close());
  const bridge = bridgeClient(tlsServer, { service: proxy.service, verifyTls: false });
  t.after(() => bridge.stop());
  await bridge.start();
  assert.match(proxy.sent(), /<starttls/);
  assert.doesNotMatch(proxy.sent(), /<auth|bridgepw/, "the login went inside TLS");
});
