// The relay with the real MucClient against a real Prosody: a restart between a send and its
// confirmation neither loses nor duplicates the message, and what the room said while the
// bridge's connection was cut comes back through XEP-0198 resumption, relayed exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";
import pino from "pino";
import type { NetworkAdapter } from "../../../bridge/network.ts";
import { Relay } from "../../../bridge/relay/relay.ts";
import { Outbox } from "../../../bridge/store/outbox.ts";
import type { MucClient } from "../../../bridge/xmpp/index.ts";
import { MemoryNetwork } from "../../helpers/memory-network.ts";
import { prosodyMissing } from "../../helpers/prosody.ts";
import { bridgeClient, captureLogger, joinRoom, prosodyWithAlice } from "../xmpp/helpers.ts";
import { settled } from "./harness.ts";

const skip = await prosodyMissing();
const { server, alice } = await prosodyWithAlice(skip);
let n = 0;

type T = { after(fn: () => unknown): void };

function client(t: T): MucClient {
  const c = bridgeClient(server);
  t.after(() => c.stop());
  return c;
}

async function setup(t: T) {
  const room = `crash${++n}@conference.localhost`;
  await alice.join(room, "alice");
  const dir = mkdtempSync(join(tmpdir(), "pb-relay-prosody-"));
  const outbox = new Outbox(join(dir, "outbox.sqlite"));
  const [item] = outbox.accept({ sourceKey: `net:qq:${room}`, items: [{ bridge: room, target: `xmpp:${room}`, text: "<bob> before the crash" }] }) ?? [];
  assert.ok(item);
  return { room, outbox, item, dir };
}

/** The restarted bridge: a new client and relay on the same outbox. */
async function restart(t: T, room: string, outbox: Outbox, dir: string) {
  const qq = new MemoryNetwork({ id: "qq", groups: ["Dev"] });
  const muc = client(t);
  const relay = new Relay({
    bridges: [{ xmpp: room, format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev" }] }],
    outbox,
    room: muc,
    networks: new Map<string, NetworkAdapter>([["qq", qq]]),
    logger: pino({ level: "silent" }),
    backoff: { min: 1, max: 10 },
  });
  t.after(async () => {
    await relay.stop(0);
    await muc.stop();
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const delivered = settled(relay, "delivered");
  await relay.start();
  await muc.start();
  return { qq, delivered };
}

test("reflected before the crash: the rejoin history confirms it, nothing is resent", { skip, timeout: 30_000 }, async (t) => {
  const { room, outbox, item, dir } = await setup(t);
  outbox.markAttempt(item.id);
  // The first process sends with the item's origin-id, the room reflects it, and the process
  // dies before it records the confirmation.
  const first = client(t);
  await first.start();
  await joinRoom(first, room);
  await first.send(room, item.text, { originId: item.originId });
  await first.stop();

  const { qq, delivered } = await restart(t, room, outbox, dir);
  assert.equal((await delivered).id, item.id);
  assert.equal(outbox.get(item.id)?.state, "delivered");
  await qq.push({ group: "Dev", text: "after the restart" });
  await alice.waitFor((m) => m.body === "<alice> after the restart" && m);
  assert.equal(alice.messages.filter((m) => m.room === room && m.body === "<bob> before the crash").length, 1);
});

test("attempted but never sent before the crash: sent after the rejoin, once", { skip, timeout: 30_000 }, async (t) => {
  const { room, outbox, item, dir } = await setup(t);
  outbox.markAttempt(item.id);
  const { qq } = await restart(t, room, outbox, dir);
  await alice.waitFor((m) => m.body === "<bob> before the crash" && m.originId === item.originId && m);
  await qq.push({ group: "Dev", text: "sentinel" });
  await alice.waitFor((m) => m.body === "<alice> sentinel" && m);
  assert.equal(alice.messages.filter((m) => m.originId === item.originId).length, 1);
});

/** A TCP proxy to Prosody whose connections can be cut, and which refuses new ones while paused. */
async function cuttableProxy(t: T, port: number) {
  const sockets = new Set<Socket>();
  let paused = false;
  const proxy = createServer((client) => {
    client.on("error", () => undefined);
    if (paused) return void client.destroy();
    const upstream = createConnection(port, "127.0.0.1");
    upstream.on("error", () => undefined);
    for (const s of [client, upstream]) sockets.add(s);
    client.on("close", () => (sockets.delete(client), upstream.destroy()));
    upstream.on("close", () => (sockets.delete(upstream), client.destroy()));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), proxy.close(() => resolve()))));
  return {
    service: `xmpp://127.0.0.1:${(proxy.address() as { port: number }).port}`,
    /** Drops every connection and refuses new ones until resume(). */
    cut: () => {
      paused = true;
      sockets.forEach((s) => s.destroy());
    },
    resume: () => (paused = false),
  };
}

test("XEP-0198: what the room said during a cut comes back with the resumed stream and reaches the group exactly once", { skip, timeout: 30_000 }, async (t) => {
  const room = `resume${++n}@conference.localhost`;
  await alice.join(room, "alice");
  const proxy = await cuttableProxy(t, server.c2sPort);
  const { logger, waitFor } = captureLogger("info");
  const muc = bridgeClient(server, { service: proxy.service, logger });
  const dir = mkdtempSync(join(tmpdir(), "pb-relay-resume-"));
  const outbox = new Outbox(join(dir, "outbox.sqlite"));
  const qq = new MemoryNetwork({ id: "qq", groups: ["Dev"] });
  const relay = new Relay({
    bridges: [{ xmpp: room, format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev" }] }],
    outbox,
    room: muc,
    networks: new Map<string, NetworkAdapter>([["qq", qq]]),
    logger,
    backoff: { min: 1, max: 10 },
  });
  t.after(async () => {
    await relay.stop(0);
    await muc.stop();
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await relay.start();
  await muc.start();
  await waitFor(/"msg":"joined room"/);
  await alice.say(room, "before the cut");
  await qq.waitForSent(1);

  proxy.cut(); // Prosody sees the connection drop and holds the session for resumption
  const said = ["one", "two", "three", "four", "five"].map((w) => `during the cut ${w}`);
  // Reflected to alice: the room has routed each one to every occupant, our held session too.
  for (const body of said) await alice.say(room, body);
  proxy.resume();
  await waitFor(/"msg":"stream resumed"/);
  await alice.say(room, "sentinel");

  const sent = (await qq.waitForSent(7)).map((m) => m.text);
  assert.equal(sent.at(-1), "<alice> sentinel");
  for (const body of said) assert.equal(sent.filter((s) => s.endsWith(`<alice> ${body}`)).length, 1, `${body}: ${sent.join(" | ")}`);
  assert.equal(sent.length, 7, sent.join(" | "));
});
