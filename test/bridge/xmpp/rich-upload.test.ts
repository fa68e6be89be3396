// XEP-0363 HTTP File Upload on a real Prosody (mod_http_file_share on loopback http): the service
// is found by disco, the bytes come back from the GET URL, over-size and no-service fail clearly,
// and the slot's bearer token never reaches the log.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request } from "undici";
import { XmppUploadError } from "../../../bridge/xmpp/index.ts";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { bridgeClient, captureLogger } from "./helpers.ts";

const skip = await prosodyMissing();
const LIMIT = 64 * 1024;
let server: ProsodyServer;

before(async () => {
  if (skip) return;
  server = await startProsody({ users: { bridge: "bridgepw" }, uploadSizeLimit: LIMIT });
});
after(async () => {
  await server?.stop();
});

test("upload finds the service by disco, PUTs the bytes, and the GET URL returns them", { skip, timeout: 20_000 }, async (t) => {
  const log = captureLogger();
  const bridge = bridgeClient(server, { logger: log.logger });
  t.after(() => bridge.stop());
  await bridge.start();
  const data = new Uint8Array(randomBytes(20_000));
  const url = await bridge.upload({ data, name: "cat 1.png", mime: "image/png" });
  assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${server.httpPort}/file_share/`));
  const res = await request(url);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers["content-type"], "image/png");
  assert.deepEqual(new Uint8Array(await res.body.arrayBuffer()), data);

  // A second upload reuses the service found (one disco per session) and gets its own URL.
  const second = await bridge.upload({ data: new TextEncoder().encode("hello"), name: "a.txt", mime: "text/plain" });
  assert.notEqual(second, url);
  assert.equal(await (await request(second)).body.text(), "hello");
  assert.doesNotMatch(log.text(), /Bearer|eyJ/, "the slot's token is never logged");
});

test("a file over the service's max-file-size fails clearly before anything is sent", { skip, timeout: 20_000 }, async (t) => {
  const bridge = bridgeClient(server);
  t.after(() => bridge.stop());
  await bridge.start();
  await assert.rejects(
    bridge.upload({ data: new Uint8Array(LIMIT + 1), name: "big.bin", mime: "application/octet-stream" }),
    (err) => err instanceof XmppUploadError && err.reason === "too-large" && err.message.includes(String(LIMIT)) && err.message.includes("big.bin"),
  );
  // Exactly at the limit is fine.
  const url = await bridge.upload({ data: new Uint8Array(LIMIT), name: "edge.bin", mime: "application/octet-stream" });
  assert.equal((await (await request(url)).body.arrayBuffer()).byteLength, LIMIT);
});

test("a refused slot (a file name the service rejects) is a clear 'refused'", { skip, timeout: 20_000 }, async (t) => {
  const bridge = bridgeClient(server);
  t.after(() => bridge.stop());
  await bridge.start();
  await assert.rejects(
    bridge.upload({ data: new Uint8Array(3), name: "a/b", mime: "text/plain" }),
    (err) => err instanceof XmppUploadError && err.reason === "refused" && /bad-request/.test(err.message),
  );
});

test("a server without an upload service: 'no-service'; not online: 'failed'", { skip, timeout: 20_000 }, async (t) => {
  const bare = await startProsody({ users: { bridge: "bridgepw" }, upload: false });
  t.after(() => bare.stop());
  const bridge = bridgeClient(bare);
  t.after(() => bridge.stop());
  await assert.rejects(bridge.upload({ data: new Uint8Array(1), name: "x", mime: "text/plain" }), (err) => err instanceof XmppUploadError && err.reason === "failed");
  await bridge.start();
  // bridge.localhost (an external component nobody connected) never answers disco#info: it costs one timeout.
  for (let i = 0; i < 2; i++) {
    await assert.rejects(
      bridge.upload({ data: new Uint8Array(1), name: "x", mime: "text/plain" }, { timeout: 2000 }),
      (err) => err instanceof XmppUploadError && err.reason === "no-service" && err.message.includes("localhost"),
    );
  }
});
