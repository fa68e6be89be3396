import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FORMAT, formatMessage, formatTime, markLate, withAttachments } from "../../../bridge/relay/format.ts";

const time = new Date("2026-11-22T10:03:45Z");

test("the default template is <nick> text", () => {
  assert.equal(formatMessage(DEFAULT_FORMAT, { nick: "alice", text: "hi", network: "qq", group: "Dev", time }), "<alice> hi");
});

test("every placeholder is filled", () => {
  const out = formatMessage("[{network}/{group} {time}] {nick}: {text}", { nick: "bob", text: "yo", network: "qq", group: "Dev", time });
  assert.equal(out, "[qq/Dev 2026-11-22 10:03 UTC] bob: yo");
});

test("placeholders inside values are not expanded again", () => {
  const out = formatMessage("<{nick}> {text}", { nick: "{text}", text: "{nick} {group}", network: "qq", group: "G", time });
  assert.equal(out, "<{text}> {nick} {group}");
});

test("unknown placeholders stay as written", () => {
  assert.equal(formatMessage("{who} {text}", { nick: "a", text: "b", network: "n", group: "g", time }), "{who} b");
});

test("late messages carry their original time", () => {
  assert.equal(formatTime(time), "2026-11-22 10:03 UTC");
  assert.equal(markLate("<a> b", time), "[2026-11-22 10:03 UTC] <a> b");
});

test("an invalid time is shown as such instead of throwing", () => {
  assert.equal(markLate("<a> b", new Date("garbage")), "[unknown time] <a> b");
});

test("attachments follow the text, one URL per line", () => {
  assert.equal(withAttachments("look", ["http://x/1.png", "http://x/2.png"]), "look\nhttp://x/1.png\nhttp://x/2.png");
  assert.equal(withAttachments("", ["http://x/1.png"]), "http://x/1.png");
  assert.equal(withAttachments("plain", undefined), "plain");
});
