// Rich messages on a real Prosody (mod_muc_mam gives stanza-ids): replies both ways with their
// XEP-0428 fallback, corrections, retractions, OOB files, stanza-ids in send results.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { RoomSendError } from "../../../bridge/xmpp/index.ts";
import { parseGroupchat } from "../../../bridge/xmpp/stanzas.ts";
import type { RoomMessage } from "../../../bridge/xmpp/types.ts";
import { xml, type XmlElement } from "../../../bridge/xmpp/xmpp-js.ts";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { XmppUser } from "../../helpers/xmpp-user.ts";
import { nextMessage, startedBridge } from "./helpers.ts";

const skip = await prosodyMissing();
let server: ProsodyServer;
let alice: XmppUser;
let n = 0;
const newRoom = () => `rich${++n}@conference.localhost`;

before(async () => {
  if (skip) return;
  server = await startProsody({ users: { bridge: "bridgepw", alice: "alicepw", carol: "carolpw" } });
  alice = await XmppUser.connect(server, "alice", "alicepw");
});
after(async () => {
  await alice?.stop();
  await server?.stop();
});

/** Alice sends a raw groupchat stanza and waits for its reflection (by origin-id). */
async function aliceSends(room: string, children: XmlElement[]): Promise<XmlElement> {
  const id = randomUUID();
  const reflected = alice.waitForStanza((s) => s.is("message") && s.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id === id && s, { fromNow: true });
  await alice.xmpp.send(xml("message", { to: room, type: "groupchat", id }, xml("origin-id", { xmlns: "urn:xmpp:sid:0", id }), ...children));
  return reflected;
}

/** The stanza alice received with this origin-id. */
const aliceSees = (originId: string) => alice.waitForStanza((s) => s.is("message") && s.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id === originId && s);

const roomStanzaId = (s: XmlElement, room: string) => s.getChildren("stanza-id", "urn:xmpp:sid:0").find((x) => x.attrs.by === room)?.attrs.id;

test("a reply from the bridge: <reply> to the room's stanza-id, the quote marked as fallback; the send result has the stanza-id", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const original = await aliceSends(room, [xml("body", {}, "cake? 🎂")]);
  const originalId = roomStanzaId(original, room);
  assert.ok(originalId, "the room (mod_muc_mam) gives each message a stanza-id");

  const sent = await bridge.send(room, "yes 🍰 please", { originId: "r1", replyTo: { id: originalId, to: `${room}/alice`, fallback: "alice: cake? 🎂" } });
  const seen = await aliceSees("r1");
  assert.equal(seen.getChildText("body"), "> alice: cake? 🎂\nyes 🍰 please");
  assert.deepEqual(seen.getChild("reply", "urn:xmpp:reply:0")?.attrs, { xmlns: "urn:xmpp:reply:0", id: originalId, to: `${room}/alice` });
  const parsed = parseGroupchat(seen, new Date())!;
  assert.equal(parsed.bodyWithoutFallback, "yes 🍰 please", "the range counts code points: the emoji in the quote is one");
  assert.deepEqual(parsed.replyTo, { id: originalId, to: `${room}/alice` });
  assert.deepEqual(sent, { originIds: ["r1"], stanzaIds: [roomStanzaId(seen, room)] });
  assert.ok(sent.stanzaIds[0]);
});

test("a reply to the bridge: replyTo and the body without the quote", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const { stanzaIds } = await bridge.send(room, "bridged 😀 text", { originId: "b1" });
  const quote = "> bridge: bridged 😀 text\n";
  const got = nextMessage(bridge, (m) => m.replyTo !== undefined);
  await aliceSends(room, [
    xml("body", {}, `${quote}I agree`),
    xml("reply", { xmlns: "urn:xmpp:reply:0", to: `${room}/bridge`, id: stanzaIds[0] }),
    xml("fallback", { xmlns: "urn:xmpp:fallback:0", for: "urn:xmpp:reply:0" }, xml("body", { start: "0", end: String(Array.from(quote).length) })),
  ]);
  const m = await got;
  assert.deepEqual(m.replyTo, { id: stanzaIds[0], to: `${room}/bridge` });
  assert.equal(m.bodyWithoutFallback, "I agree");
  assert.equal(m.body, `${quote}I agree`);
  assert.equal(m.own, false);
});

test("corrections both ways name the original's id (XEP-0308)", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  await bridge.send(room, "teh typo", { originId: "c1" });
  await bridge.send(room, "the typo", { originId: "c2", replaces: "c1" });
  assert.equal((await aliceSees("c2")).getChild("replace", "urn:xmpp:message-correct:0")?.attrs.id, "c1");

  const original = await aliceSends(room, [xml("body", {}, "helo")]);
  const got = nextMessage(bridge, (m) => m.replaces !== undefined);
  await aliceSends(room, [xml("body", {}, "hello"), xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: original.attrs.id })]);
  const m = await got;
  assert.equal(m.replaces, original.attrs.id);
  assert.equal(m.body, "hello");
});

test("the bridge retracts its message by the room's stanza-id (XEP-0424), with the older origin-id form", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const { stanzaIds } = await bridge.send(room, "oops", { originId: "x1" });
  const own = nextMessage(bridge, (m) => m.retracts !== undefined);
  const result = await bridge.retract(room, { stanzaId: stanzaIds[0]!, originId: "x1" }, { originId: "x1-retract" });
  assert.equal(result.originIds[0], "x1-retract");
  assert.ok(result.stanzaIds[0], "the retraction is archived too (store hint, fallback body)");
  const seen = await aliceSees("x1-retract");
  assert.equal(seen.getChild("retract", "urn:xmpp:message-retract:1")?.attrs.id, stanzaIds[0]);
  assert.equal(seen.getChild("apply-to", "urn:xmpp:fasten:0")?.attrs.id, "x1");
  assert.ok(seen.getChild("fallback", "urn:xmpp:fallback:0"));
  const reflected = await own;
  assert.equal(reflected.own, true);
  assert.equal(reflected.retracts, stanzaIds[0]);

  await assert.rejects(bridge.retract(room, {}), (err) => err instanceof RoomSendError && err.reason === "invalid" && err.neverSendable);
});

test("retractions from the room read in the current and the older form, with or without a body", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const target = await aliceSends(room, [xml("body", {}, "regret")]);
  const targetId = roomStanzaId(target, room)!;

  const current = nextMessage(bridge, (m) => m.retracts === targetId);
  await aliceSends(room, [xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: targetId })]); // no body at all
  const m1 = await current;
  assert.equal(m1.body, "");
  assert.equal(m1.nick, "alice");
  assert.equal(m1.moderated, undefined);

  const older = nextMessage(bridge, (m) => m.retracts === target.attrs.id);
  await aliceSends(room, [
    xml("apply-to", { xmlns: "urn:xmpp:fasten:0", id: target.attrs.id }, xml("retract", { xmlns: "urn:xmpp:message-retract:0" })),
    xml("body", {}, "retracted"),
  ]);
  assert.equal((await older).body, "retracted");

  // An occupant cannot moderate: a <moderated/> from an occupant is only its own retraction.
  const spoof = nextMessage(bridge, (m) => m.retracts === "someone-else");
  await aliceSends(room, [
    xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: "someone-else" }, xml("moderated", { xmlns: "urn:xmpp:message-moderate:1", by: `${room}/alice` })),
  ]);
  assert.equal((await spoof).moderated, undefined);
});

test("OOB both ways: the bridge's file message body is exactly the URL; alice's file is read", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const url = "http://127.0.0.1:1/files/cat.png";
  await bridge.send(room, "", { originId: "f1", oob: url });
  const seen = await aliceSees("f1");
  assert.equal(seen.getChildText("body"), url);
  assert.equal(seen.getChild("x", "jabber:x:oob")?.getChildText("url"), url);

  await assert.rejects(bridge.send(room, "x", { oob: "javascript:alert(1)" }), (err) => err instanceof RoomSendError && err.reason === "invalid");

  const got = nextMessage(bridge, (m) => m.oob !== undefined);
  await aliceSends(room, [xml("body", {}, "https://example.org/dog.jpg"), xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, "https://example.org/dog.jpg"), xml("desc", {}, "a dog"))]);
  assert.deepEqual((await got).oob, { url: "https://example.org/dog.jpg", desc: "a dog" });
});

test("a split reply: every part gets its stanza-id; the reply, its fallback and the correction ride on the first part only", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice, maxBodyLength: 40 });
  const body = "one two three four five six seven eight nine ten eleven twelve";
  const sent = await bridge.send(room, body, { originId: "s1", replyTo: { id: "orig", fallback: "q" }, replaces: "s0" });
  assert.deepEqual(sent.originIds, ["s1", "s1.1"]);
  assert.equal(sent.stanzaIds.length, 2);
  assert.ok(sent.stanzaIds.every((id) => typeof id === "string" && id.length > 0));
  assert.notEqual(sent.stanzaIds[0], sent.stanzaIds[1]);
  const [first, second] = [await aliceSees("s1"), await aliceSees("s1.1")];
  assert.ok(first.getChild("reply", "urn:xmpp:reply:0") && first.getChild("replace", "urn:xmpp:message-correct:0"));
  assert.equal(parseGroupchat(first, new Date())!.bodyWithoutFallback + second.getChildText("body")!, body);
  assert.equal(second.getChild("reply", "urn:xmpp:reply:0"), undefined);
  assert.equal(second.getChild("replace", "urn:xmpp:message-correct:0"), undefined);
  assert.equal(second.getChild("fallback", "urn:xmpp:fallback:0"), undefined);
});

test("a reflection of our own message carries the room's stanza-id, also in history replay", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const own = nextMessage(bridge, (m) => m.originId === "h1");
  const { stanzaIds } = await bridge.send(room, "kept", { originId: "h1" });
  const live = await own;
  assert.equal(live.own, true);
  assert.equal(live.stanzaId, stanzaIds[0]);

  const carol = await XmppUser.connect(server, "carol", "carolpw");
  t.after(() => carol.stop());
  await carol.join(room, "carol", { maxstanzas: 5 });
  const replayed = await carol.waitFor((m) => m.originId === "h1" && m);
  assert.ok(replayed.delayed);
  assert.equal(replayed.stanzaId, stanzaIds[0]);
});

test("a correction or retraction of someone else's message is ignored (XEP-0308 / XEP-0424 author rule)", { skip, timeout: 20_000 }, async (t) => {
  const room = newRoom();
  const bridge = await startedBridge(t, server, room, { user: alice });
  const seen: RoomMessage[] = [];
  bridge.on("message", (m) => seen.push(m));
  const { stanzaIds } = await bridge.send(room, "relayed from a group", { originId: "own-1" });
  // alice tries to retract and to correct the bridge's message: nothing reaches the relay.
  await aliceSends(room, [xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: stanzaIds[0] }), xml("body", {}, "retracted")]);
  await aliceSends(room, [xml("body", {}, "forged text"), xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: "own-1" })]);
  // Her own message she may retract and correct.
  const mine = await aliceSends(room, [xml("body", {}, "mine")]);
  await aliceSends(room, [xml("body", {}, "mine!"), xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: mine.attrs.id })]);
  await aliceSends(room, [xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: roomStanzaId(mine, room) })]);
  const sentinel = nextMessage(bridge, (m) => m.body === "sentinel");
  await alice.say(room, "sentinel");
  await sentinel;
  assert.deepEqual(
    seen.filter((m) => m.retracts !== undefined || m.replaces !== undefined).map((m) => [m.nick, m.replaces ?? m.retracts]),
    [
      ["alice", mine.attrs.id],
      ["alice", roomStanzaId(mine, room)],
    ],
  );
  assert.ok(!seen.some((m) => m.body === "forged text"));
  assert.ok(mine.getChild("occupant-id", "urn:xmpp:occupant-id:0"), "Prosody 0.12 marks occupants (XEP-0421)");
});
