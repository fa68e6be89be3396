// Rich messages through the relay with the real MucClient on a real Prosody (mod_muc_mam gives
// stanza-ids): an occupant's reply, correction and retraction reach the networks natively, and a
// network's reply, edit and recall reach the room as XEP-0461, XEP-0308 and XEP-0424 naming the
// right message; the id map carries across a restart of the bridge.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { NetworkAdapter } from "../../../bridge/network.ts";
import { Relay } from "../../../bridge/relay/relay.ts";
import { Outbox } from "../../../bridge/store/outbox.ts";
import { xml, type XmlElement } from "../../../bridge/xmpp/xmpp-js.ts";
import { MemoryNetwork } from "../../helpers/memory-network.ts";
import { prosodyMissing } from "../../helpers/prosody.ts";
import { bridgeClient, joinedState, prosodyWithAlice } from "../xmpp/helpers.ts";
import { delivered } from "./delivered.ts";

const skip = await prosodyMissing();
const { server, alice } = await prosodyWithAlice(skip);
let n = 0;

type T = { after(fn: () => unknown): void };

const stanzaIdOf = (s: XmlElement, room: string) => s.getChildren("stanza-id", "urn:xmpp:sid:0").find((x) => x.attrs.by === room)?.attrs.id;

/** Alice sends a groupchat stanza and waits for its reflection; returns it. */
async function aliceSends(room: string, body: string, children: XmlElement[] = []): Promise<{ stanza: XmlElement; originId: string; stanzaId: string }> {
  const originId = randomUUID();
  const reflected = alice.waitForStanza((s) => s.is("message") && s.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id === originId && s, { fromNow: true });
  await alice.xmpp.send(xml("message", { to: room, type: "groupchat", id: originId }, xml("body", {}, body), xml("origin-id", { xmlns: "urn:xmpp:sid:0", id: originId }), ...children));
  const stanza = await reflected;
  return { stanza, originId, stanzaId: stanzaIdOf(stanza, room)! };
}

/** The next groupchat stanza from the bridge's occupant in `room` that matches. */
function fromBridge(room: string, match: (s: XmlElement) => boolean): Promise<XmlElement> {
  return alice.waitForStanza((s) => s.is("message") && s.attrs.from === `${room}/bridge` && match(s) && s, { fromNow: true, timeout: 15_000 });
}

async function bridge(t: T, room: string, dir: string) {
  const tg = new MemoryNetwork({ id: "tg", groups: ["G1"], features: { reply: true, edit: true, retract: true } });
  const qq = new MemoryNetwork({ id: "qq", groups: ["Dev"] });
  const outbox = new Outbox(join(dir, "outbox.sqlite"));
  const muc = bridgeClient(server);
  const relay = new Relay({
    bridges: [{ xmpp: room, format: "<{nick}> {text}", links: [{ network: "tg", group: "G1" }, { network: "qq", group: "Dev" }] }],
    outbox,
    room: muc,
    networks: new Map<string, NetworkAdapter>([["tg", tg], ["qq", qq]]),
    logger: pino({ level: "silent" }),
    backoff: { min: 1, max: 10 },
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await relay.stop(0);
    await muc.stop();
    outbox.close();
  };
  t.after(stop);
  const joined = joinedState(muc, room);
  await relay.start();
  await muc.start();
  await joined;
  return { tg, qq, relay, outbox, stop };
}

async function setup(t: T) {
  const room = `richrelay${++n}@conference.localhost`;
  await alice.join(room, "alice");
  const dir = mkdtempSync(join(tmpdir(), "pb-rich-prosody-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { room, dir, ...(await bridge(t, room, dir)) };
}

test("an occupant's reply, correction and retraction reach the networks natively (or as quote and correction)", { skip, timeout: 45_000 }, async (t) => {
  const h = await setup(t);
  const { room, tg, qq } = h;
  const original = await aliceSends(room, "lunch at 12?");
  const [tgCopy] = await tg.waitForSent(1);
  await delivered(h, "net:tg:G1", 1);
  await qq.waitForSent(1);

  // A reply to her own message, with the quote her client puts in (XEP-0428 marks it).
  const quote = "> alice: lunch at 12?\n";
  await aliceSends(room, `${quote}or 1`, [
    xml("reply", { xmlns: "urn:xmpp:reply:0", id: original.stanzaId, to: `${room}/alice` }),
    xml("fallback", { xmlns: "urn:xmpp:fallback:0", for: "urn:xmpp:reply:0" }, xml("body", { start: "0", end: String(quote.length) })),
  ]);
  const [, reply] = await tg.waitForSent(2);
  assert.deepEqual([reply?.text, reply?.opts?.replyTo], ["<alice> or 1", tgCopy!.id]);
  assert.equal((await qq.waitForSent(2))[1]?.text, `<alice> ${quote}or 1`);

  // XEP-0308: the correction names her message by its id (= origin-id here), not its stanza-id.
  await aliceSends(room, "lunch at 1?", [xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: original.originId })]);
  await tg.waitUntil(() => tg.edits.length === 1);
  assert.deepEqual(tg.edits, [{ group: "G1", id: tgCopy!.id, text: "<alice> lunch at 1?" }]);
  assert.equal((await qq.waitForSent(3))[2]?.text, "<alice> (correction) lunch at 1?");

  // XEP-0424: her retraction names it by its stanza-id.
  await aliceSends(room, "", [xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: original.stanzaId })]);
  await tg.waitUntil(() => tg.retractions.length === 1);
  assert.deepEqual(tg.retractions, [{ group: "G1", id: tgCopy!.id }]);
});

test("a network's reply, edit and recall reach the room as XEP-0461, XEP-0308 and XEP-0424, also after a restart", { skip, timeout: 60_000 }, async (t) => {
  const first = await setup(t);
  const { room, dir } = first;
  const asked = await aliceSends(room, "who brings cake?");
  const [tgAsked] = await first.tg.waitForSent(1);
  await delivered(first, "net:tg:G1", 1);
  const relayed = fromBridge(room, (s) => s.getChildText("body")?.endsWith("<dave> me") === true);
  await first.tg.push({ id: "t1", group: "G1", text: "me", senderName: "dave", replyTo: tgAsked!.id });
  const ours = await relayed;
  assert.equal(ours.getChildText("body"), "> alice: who brings cake?\n<dave> me", "a short quote before it, for clients without replies");
  const reply = ours.getChild("reply", "urn:xmpp:reply:0");
  assert.deepEqual([reply?.attrs.id, reply?.attrs.to], [asked.stanzaId, `${room}/alice`], "the reply names alice's message by its stanza-id");
  const ourOriginId = ours.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id;
  const ourStanzaId = stanzaIdOf(ours, room);
  assert.ok(ourOriginId && ourStanzaId);
  await delivered(first, `xmpp:${room}`, 1);
  await first.qq.waitForSent(2);
  await first.stop();

  // A new bridge process on the same state: the id map is all it knows of the messages before.
  const h = await bridge(t, room, dir);
  const corrected = fromBridge(room, (s) => s.getChild("replace", "urn:xmpp:message-correct:0") !== undefined);
  await h.tg.push({ id: "t1-e", group: "G1", text: "me, a big one", senderName: "dave", kind: "edit", ref: "t1" });
  const fix = await corrected;
  assert.equal(fix.getChildText("body"), "<dave> me, a big one");
  assert.equal(fix.getChild("replace", "urn:xmpp:message-correct:0")?.attrs.id, ourOriginId, "XEP-0308 names our message by its origin-id");

  const retracted = fromBridge(room, (s) => s.getChild("retract", "urn:xmpp:message-retract:1") !== undefined);
  await h.tg.push({ id: "t1-r", group: "G1", text: "", senderName: "dave", kind: "retract", ref: "t1" });
  const gone = await retracted;
  assert.equal(gone.getChild("retract", "urn:xmpp:message-retract:1")?.attrs.id, ourStanzaId, "XEP-0424 names it by the room's stanza-id");
});

test("a network picture is fetched, uploaded through XEP-0363 and posted with OOB, its caption before it", { skip, timeout: 45_000 }, async (t) => {
  const room = `richrelay${++n}@conference.localhost`;
  await alice.join(room, "alice");
  const dir = mkdtempSync(join(tmpdir(), "pb-rich-prosody-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const h = await bridge(t, room, dir);
  const qq = h.qq;
  qq.features.media = true;
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  qq.addMedia("pic-1", { data: bytes, mime: "image/png", name: "cat.png" });
  const caption = fromBridge(room, (s) => s.getChildText("body") === "<alice> look");
  const file = fromBridge(room, (s) => s.getChild("x", "jabber:x:oob") !== undefined);
  await qq.push({ group: "Dev", text: "look", senderName: "alice", media: [{ kind: "image", ref: "pic-1", name: "cat.png", size: bytes.length }] });
  await caption;
  const posted = await file;
  const url = posted.getChild("x", "jabber:x:oob")?.getChildText("url");
  assert.ok(url, "an OOB URL");
  assert.equal(posted.getChildText("body"), url, "the body is exactly the URL (clients show it inline)");
  const res = await fetch(url);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes, "the uploaded file is the network's");
});
