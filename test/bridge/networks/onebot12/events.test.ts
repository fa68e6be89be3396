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

test("skipped: meta, notices, private, other groups, our own, another bot's, missing ids, garbage", () => {
  const skipped = [
    { type: "meta", detail_type: "heartbeat" },
    msg({ type: "notice" }),
    msg({ detail_type: "private" }),
    msg({ group_id: "2" }),
    msg({ user_id: "10001" }),
    msg({ self: { platform: "qq", user_id: "10002" } }),
    msg({ self: { platform: "wechat", user_id: "10001" } }),
    msg({ message_id: undefined }),
    null,
    [1],
  ];
  for (const e of skipped) assert.equal(classifyEvent(e, groups, self).kind, "skip", JSON.stringify(e));
  // Before our bot is known, the event's own self still marks our messages.
  assert.equal(classifyEvent(msg({ user_id: "10001" }), groups, null).kind, "skip");
  // A bot known without a platform (get_self_info fallback) still takes its own events.
  assert.equal(classifyEvent(msg(), groups, { platform: "", user_id: "10001" }).kind, "relay");
  assert.equal(classifyEvent(msg({ self: { platform: "qq", user_id: "2" } }), groups, { platform: "", user_id: "10001" }).kind, "skip");
});

test("numeric ids from a lax implementation are the same ids", () => {
  const v = classifyEvent(msg({ group_id: 1, user_id: 7, message_id: 9 }), groups, self);
  assert.equal(v.kind === "relay" && v.event.messageId, "9");
});
