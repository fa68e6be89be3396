// Reading rich parts of room messages from crafted stanzas: fallback ranges (code points, bad
// ranges), moderation only from the room itself, retraction forms, OOB URLs.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { cutFallback, quoteFallback } from "../../../bridge/xmpp/rich.ts";
import { parseGroupchat } from "../../../bridge/xmpp/stanzas.ts";
import { xml, type XmlElement } from "../../../bridge/xmpp/xmpp-js.ts";

const room = "dev@conference.example.org";
const now = new Date("2030-01-01T00:00:00Z");
const REPLY = "urn:xmpp:reply:0";

function replyStanza(body: string, ranges: Record<string, string | undefined>[], ns = "urn:xmpp:fallback:0"): XmlElement {
  return xml(
    "message",
    { from: `${room}/alice`, type: "groupchat", id: "m2" },
    xml("body", {}, body),
    xml("reply", { xmlns: REPLY, id: "s1", to: `${room}/bob` }),
    xml("fallback", { xmlns: ns, for: REPLY }, ...ranges.map((r) => xml("body", r))),
  );
}

test("a reply's fallback range is in code points: astral characters count once", () => {
  const body = "> 😀 bob: 𝄞 hi\nyes";
  const m = parseGroupchat(replyStanza(body, [{ start: "0", end: "14" }]), now)!;
  assert.deepEqual(m.replyTo, { id: "s1", to: `${room}/bob` });
  assert.equal(m.bodyWithoutFallback, "yes");
  assert.equal(m.body, body);
});

test("bad fallback ranges are ignored, never cutting text they do not mark", () => {
  const body = "> q\nanswer";
  for (const range of [
    { start: "0", end: "99" }, // past the end
    { start: "3", end: "1" }, // reversed
    { start: "-1", end: "4" },
    { start: "0", end: "4.5" },
    { start: "0x0", end: "4" },
    { start: "0" }, // half a range
    { end: "4" },
    { start: "", end: "" },
  ]) {
    assert.equal(parseGroupchat(replyStanza(body, [range]), now)!.bodyWithoutFallback, body, JSON.stringify(range));
  }
  // A good range beside a bad one still counts.
  assert.equal(parseGroupchat(replyStanza(body, [{ start: "0", end: "99" }, { start: "0", end: "4" }]), now)!.bodyWithoutFallback, "answer");
});

test("several and overlapping ranges, a range-less <body/> (all of it), the old namespace, another feature's fallback", () => {
  assert.equal(parseGroupchat(replyStanza("ab-cd-ef", [{ start: "0", end: "3" }, { start: "2", end: "6" }]), now)!.bodyWithoutFallback, "ef");
  assert.equal(parseGroupchat(replyStanza("all quote", [{}]), now)!.bodyWithoutFallback, "");
  assert.equal(parseGroupchat(replyStanza("> q\nx", [{ start: "0", end: "4" }], "urn:xmpp:feature-fallback:0"), now)!.bodyWithoutFallback, "x");
  const other = xml(
    "message",
    { from: `${room}/alice`, type: "groupchat" },
    xml("body", {}, "> q\nx"),
    xml("reply", { xmlns: REPLY, id: "s1" }),
    xml("fallback", { xmlns: "urn:xmpp:fallback:0", for: "urn:xmpp:message-retract:1" }, xml("body", { start: "0", end: "4" })),
  );
  assert.equal(parseGroupchat(other, now)!.bodyWithoutFallback, "> q\nx");
  // No reply: no bodyWithoutFallback (the body is all there is).
  assert.equal(parseGroupchat(xml("message", { from: `${room}/a`, type: "groupchat" }, xml("body", {}, "x")), now)!.bodyWithoutFallback, undefined);
  // A <reply/> without id is not a reply.
  const noId = xml("message", { from: `${room}/a`, type: "groupchat" }, xml("body", {}, "x"), xml("reply", { xmlns: REPLY }));
  assert.equal(parseGroupchat(noId, now)!.replyTo, undefined);
});

test("our quote and its range round-trip: cutting the range we write leaves the body (any text)", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme", minLength: 1 }), (quoted, body) => {
      const quote = quoteFallback(quoted);
      const stanza = replyStanza(quote + body, [{ start: "0", end: String(Array.from(quote).length) }]);
      return cutFallback(stanza, quote + body, REPLY) === body;
    }),
  );
  assert.equal(quoteFallback("a\nb"), "> a\n> b\n");
  assert.equal(Array.from(quoteFallback("x".repeat(500))).length, 2 + 200 + 1);
});

test("moderation (XEP-0425) counts only from the room's own JID, in the current and the older form", () => {
  const current = xml(
    "message",
    { from: room, type: "groupchat", id: "mod1" },
    xml(
      "retract",
      { xmlns: "urn:xmpp:message-retract:1", id: "s9" },
      xml("moderated", { xmlns: "urn:xmpp:message-moderate:1", by: `${room}/mod` }, xml("occupant-id", { xmlns: "urn:xmpp:occupant-id:0", id: "x" })),
      xml("reason", {}, " spam "),
    ),
  );
  const m = parseGroupchat(current, now)!;
  assert.equal(m.retracts, "s9");
  assert.deepEqual(m.moderated, { by: `${room}/mod`, reason: "spam" });
  assert.equal(m.nick, "mod");
  assert.equal(m.body, "");

  const older = xml(
    "message",
    { from: room, type: "groupchat" },
    xml(
      "apply-to",
      { xmlns: "urn:xmpp:fasten:0", id: "s8" },
      xml("moderated", { xmlns: "urn:xmpp:message-moderate:0" }, xml("retract", { xmlns: "urn:xmpp:message-retract:0" }), xml("reason", {}, "r")),
    ),
    xml("body", {}, "This message has been moderated"),
  );
  const o = parseGroupchat(older, now)!;
  assert.equal(o.retracts, "s8");
  assert.deepEqual(o.moderated, { reason: "r" });
  assert.equal(o.nick, "");

  // From an occupant the same elements are that occupant's own retraction, not a moderation.
  const spoof = parseGroupchat(xml("message", { ...current.attrs, from: `${room}/eve` }, ...current.getChildElements()), now)!;
  assert.equal(spoof.retracts, "s9");
  assert.equal(spoof.moderated, undefined);
  // The room's other messages (status notices) are still not messages.
  assert.equal(parseGroupchat(xml("message", { from: room, type: "groupchat" }, xml("body", {}, "notice")), now), undefined);
  // A room message with a plain (non-moderation) retraction is not a message either.
  const plain = xml("message", { from: room, type: "groupchat" }, xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: "s1" }));
  assert.equal(parseGroupchat(plain, now), undefined);
});

test("a bodiless message counts only as a retraction; OOB takes only http(s) URLs", () => {
  assert.equal(parseGroupchat(xml("message", { from: `${room}/a`, type: "groupchat" }, xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: "x" })), now), undefined);
  const oob = (url: string) =>
    parseGroupchat(xml("message", { from: `${room}/a`, type: "groupchat" }, xml("body", {}, url), xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, url))), now)!.oob;
  assert.deepEqual(oob(" https://h.example/a.png "), { url: "https://h.example/a.png" });
  assert.equal(oob("javascript:alert(1)"), undefined);
  assert.equal(oob("aesgcm://h.example/a.png#key"), undefined);
  assert.equal(oob("not a url"), undefined);
});
