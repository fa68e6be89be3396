import { test } from "node:test";
import assert from "node:assert/strict";
import { joinPresence, parseGroupchat, parseMucPresence, selfPingVerdict, splitJid } from "../../../bridge/xmpp/stanzas.ts";
import { xml } from "../../../bridge/xmpp/xmpp-js.ts";

const room = "dev@conference.example.org";
const now = new Date("2030-01-01T00:00:00Z");

test("join presence asks for no history, or history since a time, with the room password", () => {
  assert.equal(
    joinPresence(room, "qq", { maxstanzas: 0 }).toString(),
    `<presence to="${room}/qq"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`,
  );
  const since = joinPresence(room, "qq", { since: new Date("2030-01-01T00:00:00Z") }, "s3");
  assert.match(since.toString(), /<history since="2030-01-01T00:00:00.000Z"\/><password>s3<\/password>/);
});

test("a groupchat message is read with ids, delay, correction; a stanza-id counts only from the room", () => {
  const stanza = xml(
    "message",
    { from: `${room}/alice`, type: "groupchat", id: "m1" },
    xml("body", {}, "hi"),
    xml("origin-id", { xmlns: "urn:xmpp:sid:0", id: "o1" }),
    xml("stanza-id", { xmlns: "urn:xmpp:sid:0", id: "forged", by: "alice@example.org" }),
    xml("stanza-id", { xmlns: "urn:xmpp:sid:0", id: "s1", by: room }),
    xml("delay", { xmlns: "urn:xmpp:delay", stamp: "2029-12-31T23:00:00Z" }),
    xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: "m0" }),
  );
  assert.deepEqual(parseGroupchat(stanza, now), {
    room,
    nick: "alice",
    body: "hi",
    id: "m1",
    originId: "o1",
    stanzaId: "s1",
    delayed: new Date("2029-12-31T23:00:00Z"),
    replaces: "m0",
    time: new Date("2029-12-31T23:00:00Z"),
  });
});

test("room notices, subjects, bodiless and non-groupchat messages are not room messages; a bad delay stamp is live", () => {
  assert.equal(parseGroupchat(xml("message", { from: room, type: "groupchat" }, xml("body", {}, "notice")), now), undefined);
  assert.equal(parseGroupchat(xml("message", { from: `${room}/a`, type: "groupchat" }, xml("subject", {}, "")), now), undefined);
  assert.equal(parseGroupchat(xml("message", { from: `${room}/a`, type: "chat" }, xml("body", {}, "pm")), now), undefined);
  const bad = parseGroupchat(
    xml("message", { from: `${room}/a`, type: "groupchat" }, xml("body", {}, "x"), xml("delay", { xmlns: "urn:xmpp:delay", stamp: "garbage" })),
    now,
  );
  assert.equal(bad?.delayed, undefined);
  assert.equal(bad?.time, now);
});

test("MUC presences: self (110), kick (307), nick conflict error, destroy", () => {
  const self = parseMucPresence(
    xml("presence", { from: `${room}/qq` }, xml("x", { xmlns: "http://jabber.org/protocol/muc#user" }, xml("item", { jid: "b@x/r", role: "participant" }), xml("status", { code: "110" }))),
  )!;
  assert.equal(self.type, "available");
  assert.deepEqual([...self.codes], ["110"]);
  assert.equal(self.jid, "b@x");
  const kick = parseMucPresence(
    xml(
      "presence",
      { from: `${room}/qq`, type: "unavailable" },
      xml("x", { xmlns: "http://jabber.org/protocol/muc#user" }, xml("item", { role: "none" }, xml("reason", {}, "spam")), xml("status", { code: "307" }), xml("status", { code: "110" })),
    ),
  )!;
  assert.deepEqual([kick.type, [...kick.codes].sort(), kick.reason], ["unavailable", ["110", "307"], "spam"]);
  const conflict = parseMucPresence(
    xml("presence", { from: `${room}/qq`, type: "error" }, xml("error", { type: "cancel" }, xml("conflict", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }))),
  )!;
  assert.deepEqual([conflict.error, conflict.errorType], ["conflict", "cancel"]);
  const destroyed = parseMucPresence(
    xml("presence", { from: `${room}/qq`, type: "unavailable" }, xml("x", { xmlns: "http://jabber.org/protocol/muc#user" }, xml("destroy", {}), xml("status", { code: "110" }))),
  )!;
  assert.equal(destroyed.destroyed, true);
  assert.equal(parseMucPresence(xml("presence", { from: "someone@x/y" })), undefined);
});

test("self-ping answers follow XEP-0410", () => {
  assert.equal(selfPingVerdict({ result: true }), "joined");
  assert.equal(selfPingVerdict({ error: "service-unavailable" }), "joined");
  assert.equal(selfPingVerdict({ error: "feature-not-implemented" }), "joined");
  assert.equal(selfPingVerdict({ error: "not-acceptable" }), "gone");
  assert.equal(selfPingVerdict({ error: "item-not-found" }), "gone");
  assert.equal(selfPingVerdict({ error: "remote-server-timeout" }), "unknown");
  assert.equal(selfPingVerdict({ error: undefined }), "unknown");
});

test("a nick may contain a slash", () => {
  assert.deepEqual(splitJid(`${room}/a/b`), [room, "a/b"]);
});
