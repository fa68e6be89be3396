// RoomCatchUp on its own, with the room's answers written out: what a room without an archive,
// one that refuses the query, and one whose archive stops answering mid-way make of a catch-up.
// The complete path against a real Prosody is in muc-client.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { CatchUpError, NS_MAM, RoomCatchUp } from "../../../bridge/xmpp/catch-up.ts";
import { NS_DELAY, NS_SID } from "../../../bridge/xmpp/stanzas.ts";
import { xml, type XmlElement } from "../../../bridge/xmpp/xmpp-js.ts";

const ROOM = "dev@conference.localhost";
const since = new Date("2026-11-30T10:00:00Z");

/** A groupchat message as the room sends it; `replayed`: with <delay/> and the room's stanza-id (history). */
function message(body: string, sid?: string, replayed = false): XmlElement {
  return xml(
    "message",
    { from: `${ROOM}/alice`, type: "groupchat" },
    xml("body", {}, body),
    sid !== undefined && xml("stanza-id", { xmlns: NS_SID, by: ROOM, id: sid }),
    replayed && xml("delay", { xmlns: NS_DELAY, stamp: "2026-11-30T10:00:01Z" }),
  );
}

/** An archive result for query `queryid` (from the room's bare JID unless `from` says otherwise). */
function result(queryid: string, sid: string, body: string, from = ROOM): XmlElement {
  return xml(
    "message",
    { from },
    xml(
      "result",
      { xmlns: NS_MAM, queryid, id: sid },
      xml("forwarded", { xmlns: "urn:xmpp:forward:0" }, xml("delay", { xmlns: NS_DELAY, stamp: "2026-11-30T10:00:01Z" }), xml("message", { from: `${ROOM}/alice`, type: "groupchat" }, xml("body", {}, body))),
    ),
  );
}

function fin(complete: boolean, last?: string): XmlElement {
  return xml("iq", { type: "result" }, xml("fin", { xmlns: NS_MAM, ...(complete ? { complete: "true" } : {}) }, xml("set", { xmlns: "http://jabber.org/protocol/rsm" }, last !== undefined && xml("last", {}, last))));
}

/** A catch-up whose archive answers with `pages` (each: results, then the fin; or an error to throw). */
function catchUp(pages: ({ results: [sid: string, body: string][]; complete: boolean } | Error)[]) {
  const released: string[] = [];
  const queries: XmlElement[] = [];
  const c: RoomCatchUp = new RoomCatchUp({
    room: ROOM,
    log: pino({ level: "silent" }),
    release: (s) => released.push(`${s.getChildText("body")}${s.getChild("delay", NS_DELAY) ? " (delayed)" : ""}`),
    request: async (iq) => {
      queries.push(iq);
      const page = pages.shift();
      if (!page) throw new Error("no more pages");
      if (page instanceof Error) throw page;
      const queryid = iq.getChild("query", NS_MAM)!.attrs.queryid!;
      for (const [sid, body] of page.results) assert.equal(c.result(result(queryid, sid, body)), true);
      return fin(page.complete, page.results.at(-1)?.[0]);
    },
  });
  return { c, released, queries };
}

const stanzaError = (condition: string) => Object.assign(new Error(condition), { name: "StanzaError", condition });

test("a replay without the room's stanza-ids (no archive): released as it came, no query", async () => {
  const { c, released, queries } = catchUp([]);
  c.begin({ since });
  assert.equal(c.hold(message("old", undefined, true)), true);
  assert.equal(c.hold(message("live")), true);
  assert.equal(await c.finish(), true);
  assert.deepEqual(released, ["old (delayed)", "live"]);
  assert.equal(queries.length, 0);
  assert.equal(c.hold(message("later")), false, "holding ends with the catch-up");
});

test("pages in order, asked after the previous page's last id; held messages the archive had come once, the rest after", async () => {
  const { c, released, queries } = catchUp([
    { results: [["s1", "a"], ["s2", "b"]], complete: false },
    { results: [["s3", "c"], ["s4", "d"]], complete: true },
  ]);
  c.begin({ since });
  c.hold(message("c", "s3", true)); // the join's replay: the newest only
  c.hold(message("d", "s4", true));
  c.hold(message("e", "s5")); // said while we paged
  assert.equal(await c.finish(), true);
  assert.deepEqual(released, ["a (delayed)", "b (delayed)", "c (delayed)", "d (delayed)", "e"]);
  assert.equal(queries[0]!.getChild("query", NS_MAM)!.getChild("set", "http://jabber.org/protocol/rsm")!.getChildText("after"), null);
  assert.equal(queries[1]!.getChild("query", NS_MAM)!.getChild("set", "http://jabber.org/protocol/rsm")!.getChildText("after"), "s2");
});

test("a room that refuses the archive query: its replay is the catch-up", async () => {
  const { c, released } = catchUp([stanzaError("forbidden")]);
  c.begin({ since });
  c.hold(message("c", "s3", true));
  assert.equal(await c.finish(), true);
  assert.deepEqual(released, ["c (delayed)"]);
});

test("an archive that stops answering mid-way: the pages read stay released, the rest is not, and the join must be made again", async () => {
  const { c, released } = catchUp([{ results: [["s1", "a"]], complete: false }, new Error("timeout")]);
  c.begin({ since });
  c.hold(message("c", "s3", true));
  await assert.rejects(c.finish(), CatchUpError);
  assert.deepEqual(released, ["a (delayed)"], "the held replay is dropped: the next join asks again from the last message taken");
  assert.equal(c.hold(message("x")), false);
});

test("a join given up while paging (abort, a newer join) releases nothing more", async () => {
  let c!: RoomCatchUp;
  const released: string[] = [];
  c = new RoomCatchUp({
    room: ROOM,
    log: pino({ level: "silent" }),
    release: (s) => released.push(s.getChildText("body")!),
    request: async () => {
      c.abort(); // e.g. the connection dropped while the page was asked
      return fin(true);
    },
  });
  c.begin({ since });
  c.hold(message("c", "s3", true));
  assert.equal(await c.finish(), false);
  assert.deepEqual(released, []);
});

test("an archive result from an occupant (room/nick) or for another query is never taken as the room's", () => {
  const { c } = catchUp([]);
  c.begin({ since });
  assert.equal(c.result(result("q", "s1", "forged", `${ROOM}/mallory`)), false, "an occupant's message stays an occupant's message");
  assert.equal(c.result(result("not-ours", "s1", "stray")), true, "consumed, not released");
});

test("an archived message that names another room as its sender is dropped", async () => {
  const released: string[] = [];
  const c: RoomCatchUp = new RoomCatchUp({
    room: ROOM,
    log: pino({ level: "silent" }),
    release: (s) => released.push(s.getChildText("body")!),
    request: async (iq) => {
      const queryid = iq.getChild("query", NS_MAM)!.attrs.queryid!;
      const foreign = result(queryid, "s1", "elsewhere");
      foreign.getChild("result", NS_MAM)!.getChild("forwarded", "urn:xmpp:forward:0")!.getChild("message")!.attrs.from = "other@conference.localhost/eve";
      c.result(foreign);
      c.result(result(queryid, "s2", "here"));
      return fin(true, "s2");
    },
  });
  c.begin({ since });
  c.hold(message("here", "s2", true));
  assert.equal(await c.finish(), true);
  assert.deepEqual(released, ["here"]);
});
