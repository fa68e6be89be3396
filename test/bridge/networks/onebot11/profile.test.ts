// The implementation profiles: what get_version_info names, what each one's failure retcodes mean
// for a send (README "Send failures"), and what `check` warns about.
import { test } from "node:test";
import assert from "node:assert/strict";
import { onebot11Warnings } from "../../../../bridge/networks/onebot11/check.ts";
import { ActionError, ActionLostError, ActionNotSentError } from "../../../../bridge/networks/onebot11/api.ts";
import { profileFromVersion, profileNamed } from "../../../../bridge/networks/onebot11/profile.ts";
import { sendFailure } from "../../../../bridge/networks/onebot11/sender.ts";

test("profiles from get_version_info app_name", () => {
  const name = (app_name: unknown) => profileFromVersion({ app_name, app_version: "1.2" }).name;
  assert.equal(name("NapCat.Onebot"), "napcat");
  assert.equal(name("LLOneBot"), "llbot");
  assert.equal(name("LLBot"), "llbot");
  assert.equal(name("Lagrange.OneBot"), "lagrange");
  assert.equal(name("go-cqhttp"), "go-cqhttp");
  assert.equal(name("something else"), "unknown");
  assert.equal(name(42), "unknown");
  assert.equal(profileFromVersion(null).name, "unknown");
  assert.equal(profileFromVersion({ app_name: "NapCat.Onebot", app_version: "4.8.1" }).label, "NapCat.Onebot 4.8.1");
});

test("send failure codes per profile: retry (certainly not delivered), unknown (maybe), fatal (never)", () => {
  const failed = (retcode: number, words = "") => new ActionError("send_group_msg", "failed", 200, { retcode, serverMessage: words });
  const kind = (p: Parameters<typeof profileNamed>[0], err: unknown) => sendFailure(err, "1", 1000, profileNamed(p)).kind;
  assert.equal(kind("go-cqhttp", failed(100, "SEND_MSG_API_ERROR / 请参考 go-cqhttp 端输出")), "unknown"); // 风控: maybe delivered
  assert.equal(kind("go-cqhttp", failed(100, "GROUP_NOT_FOUND")), "fatal");
  assert.equal(kind("go-cqhttp", failed(404, "API_NOT_FOUND")), "fatal");
  assert.equal(kind("napcat", failed(1400, "handler error: 发送消息失败")), "unknown"); // NapCat 1400 also carries backend errors
  assert.equal(kind("napcat", failed(1400, "PARAM_ERROR: group_id")), "fatal");
  assert.equal(kind("llbot", failed(1400, "")), "fatal"); // validation: it never ran
  assert.equal(kind("napcat", failed(1200, "发送超时")), "unknown"); // handler error: may have gone out
  assert.equal(kind("llbot", failed(1200, "")), "unknown");
  assert.equal(kind("napcat", failed(1404)), "fatal");
  assert.equal(kind("lagrange", failed(9000, "")), "retry"); // QQ refused the send: nothing delivered
  assert.equal(kind("lagrange", failed(200, "")), "unknown");
  assert.equal(kind("napcat", failed(1403, "token验证失败")), "retry");
  assert.equal(kind("napcat", failed(1200, "发送过于频繁")), "retry"); // its words say QQ refused it as too frequent: not sent
  assert.equal(kind("unknown", new ActionNotSentError("send_group_msg", "no open socket")), "retry");
  assert.equal(kind("unknown", new ActionLostError("send_group_msg", "no answer within 60000 ms")), "unknown");
  assert.equal(kind("unknown", Object.assign(new Error("socket hang up"), { requestSent: false })), "retry");
  assert.equal(kind("unknown", Object.assign(new Error("socket hang up"), { code: "ECONNRESET", requestSent: true })), "unknown");
});

test("check warns where the transport names an implementation that needs its own-message report turned on", () => {
  assert.match(onebot11Warnings("ob", { type: "onebot11", api: "http://x", events: "sse" })[0]!.message, /reportSelfMessage/);
  assert.match(onebot11Warnings("ob", { type: "onebot11", api: "http://x", events: "long-poll" })[0]!.message, /report-self-message/);
  assert.deepEqual(onebot11Warnings("ob", { type: "onebot11", events: "ws", ws: "ws://x" }), []);
});
