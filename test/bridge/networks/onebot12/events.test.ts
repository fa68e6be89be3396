import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyEvent } from "../../../../bridge/networks/onebot12/events.ts";

const self = { platform: "qq", user_id: "10001" };
const groups = new Set(["1"]);
const msg = (over: Record<string, unknown> = {}) => ({ id: "e", self, time: 1.5, type: "message", detail_type: "group", sub_type: "", message_id: "m", message: [], alt_message: "", group_id: "1", user_id: "7", ...over });

test("relayed: a group message of a configured group from someone else", () => {
  const v = classifyEvent(msg(), groups, self);
  assert.equal(v.kind, "relay");
  assert.deepEqual(v.kind === "relay" && [v.event.groupId, v.event.userId, v.event.messageId, v.event.time], ["1", "7", "m", 1.5]);
});

test("skipped: meta, notices, private, other groups, another bot's", () => {
  const skipped = [
    { type: "meta", detail_type: "heartbeat" },
    msg({ type: "notice" }),
    msg({ detail_type: "private" }),
    msg({ group_id: "2" }),
    msg({ self: { platform: "qq", user_id: "10002" } }),
    msg({ self: { platform: "wechat", user_id: "10001" } }),
  ];
  for (const e of skipped) assert.equal(classifyEvent(e, groups, self).kind, "skip", JSON.stringify(e));
  assert.equal(classifyEvent(msg({ self: { platform: "qq", user_id: "2" } }), groups, { platform: "", user_id: "10001" }).kind, "skip");
});

test("our own messages are handed on as own echoes, never as others'", () => {
  const own = (v: ReturnType<typeof classifyEvent>) => (v.kind === "relay" ? v.event.own : v.kind);
  assert.equal(own(classifyEvent(msg({ user_id: "10001" }), groups, self)), true);
  assert.equal(own(classifyEvent(msg(), groups, self)), false);
  // Before our bot is known, the event's own self still marks our messages.
  assert.equal(own(classifyEvent(msg({ user_id: "10001" }), groups, null)), true);
  // A bot known without a platform (get_self_info fallback) still takes its own events.
  assert.equal(own(classifyEvent(msg(), groups, { platform: "", user_id: "10001" })), false);
  assert.equal(own(classifyEvent(msg({ user_id: "10001" }), groups, { platform: "", user_id: "10001" })), true);
});

test("rejected, with the event's id and the reason: group messages of the wrong shape, and garbage", () => {
  const rejected: [unknown, RegExp][] = [
    [msg({ message_id: undefined }), /message_id/],
    [msg({ group_id: { toString: 1 } }), /group_id/],
    [msg({ user_id: "" }), /user_id/],
    [msg({ message: "not segments", alt_message: undefined }), /segment array/],
    [msg({ message: [{ type: 1, data: {} }], alt_message: 7 }), /alt_message|message/],
    [msg({ time: "yesterday" }), /time/],
    [null, /not an event/],
    [[1], /not an event/],
  ];
  for (const [e, reason] of rejected) {
    const v = classifyEvent(e, groups, self);
    assert.equal(v.kind, "reject", JSON.stringify(e));
    assert.match(v.kind === "reject" ? v.reason : "", reason);
  }
  const v = classifyEvent(msg({ message_id: undefined }), groups, self);
  assert.equal(v.kind === "reject" && v.id, "e");
});

test("numeric ids from a lax implementation are the same ids", () => {
  const v = classifyEvent(msg({ group_id: 1, user_id: 7, message_id: 9 }), groups, self);
  assert.equal(v.kind === "relay" && v.event.messageId, "9");
});
