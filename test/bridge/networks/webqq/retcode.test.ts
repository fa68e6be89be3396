import { test } from "node:test";
import assert from "node:assert/strict";
import { bodySnippet, classifyPoll, classifySend } from "../../../../bridge/networks/webqq/retcode.ts";

test("poll2 answers map to the reference's handling", () => {
  const items = [{ poll_type: "group_message", value: {} }];
  assert.deepEqual(classifyPoll(200, JSON.stringify({ retcode: 0, result: items })), { kind: "messages", items });
  assert.deepEqual(classifyPoll(200, '{"retcode":102,"errmsg":""}'), { kind: "idle" });
  assert.deepEqual(classifyPoll(504, "<html>504 Gateway Time-out</html>"), { kind: "idle" });
  assert.deepEqual(classifyPoll(200, '{"retcode":0,"result":"ok"}'), { kind: "idle" });
  assert.deepEqual(classifyPoll(200, '{"errmsg":"error!!!","retcode":0}'), { kind: "idle" });
  assert.deepEqual(classifyPoll(200, '{"retcode":116,"p":"abc"}'), { kind: "rotate", ptwebqq: "abc" });
  assert.deepEqual(classifyPoll(200, '{"retcode":103}'), { kind: "warmup" });
  for (const c of [100, 120, 121, 100000]) {
    assert.deepEqual(classifyPoll(200, JSON.stringify({ retcode: c })), { kind: "relogin", retcode: c });
  }
  for (const c of [109, 110]) {
    assert.deepEqual(classifyPoll(200, JSON.stringify({ retcode: c })), { kind: "ignored", retcode: c });
  }
  for (const c of [100001, 100012, 1202, 4242]) assert.equal(classifyPoll(200, JSON.stringify({ retcode: c })).kind, "failure");
  assert.equal(classifyPoll(200, "<html>oops</html>").kind, "failure");
  assert.equal(classifyPoll(500, "").kind, "failure");
  assert.equal(classifyPoll(200, '{"retcode":116}').kind, "failure");
});

test("send answers: success, delivered (100100), maybe (1202), frequency, relogin, bad request, refusal, unreadable", () => {
  assert.deepEqual(classifySend('{"errCode":0,"msg":"send ok"}'), { kind: "ok" });
  assert.deepEqual(classifySend('{"retcode":100100}'), { kind: "delivered", retcode: 100100 });
  assert.deepEqual(classifySend('{"retcode":1202}'), { kind: "maybe", retcode: 1202 });
  assert.deepEqual(classifySend('{"retcode":100003}'), { kind: "frequency" });
  assert.deepEqual(classifySend('{"retcode":121}'), { kind: "relogin", retcode: 121 });
  assert.deepEqual(classifySend('{"retcode":100001}'), { kind: "bad-request", retcode: 100001 });
  assert.deepEqual(classifySend('{"retcode":1000000}'), { kind: "bad-request", retcode: 1000000 });
  assert.deepEqual(classifySend('{"retcode":100006}'), { kind: "refused", retcode: 100006 });
  assert.equal(classifySend('{"errCode":1,"errMsg":"ERROR"}').kind, "unreadable");
  assert.equal(classifySend('{"retcode":"0"}').kind, "unreadable");
  assert.equal(classifySend("<html>").kind, "unreadable");
  assert.equal(classifySend("[]").kind, "unreadable");
});

test("log excerpts of answers hide session secrets, also in truncated bodies", () => {
  assert.equal(bodySnippet('{"retcode":116,"p":"2c0d8375e6c0"}'), '{"retcode":116,"p":"…"}');
  assert.equal(bodySnippet('{"retcode":"0","result":{"psessionid":"8368046764001d","uin":1}}'), '{"retcode":"0","result":{"psessionid":"…","uin":1}}');
  assert.equal(bodySnippet('{"retcode":116,"p":"2c0d83'), '{"retcode":116,"p":"…');
  const truncated = classifyPoll(200, '{"retcode":116,"p":"2c0d8375e6c0","x":');
  assert.equal(truncated.kind, "failure");
  assert.doesNotMatch((truncated as { reason: string }).reason, /2c0d/);
});
