import { test } from "node:test";
import assert from "node:assert/strict";
import { ONEBOT11_MAX_MESSAGE_LENGTH } from "../../../../bridge/networks/onebot11/index.ts";
import { sendFailure } from "../../../../bridge/networks/onebot11/sender.ts";
import { HTTPStream } from "../../../../src/index.ts";
import { freePort } from "../../../helpers/prosody.ts";
import { assertCleanRun, GROUP, harness, sendError } from "./harness.ts";

test("send: a segment array to a numeric group_id; resolves with the server's message_id; slow (rate-limited) answers are waited for", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { flavor: "lagrange", longPoll: true }); // Lagrange: Content-Type exactly application/json
  const { adapter } = await h.run();
  const text = `你好 [CQ:face,id=1] <b>&amp;</b> [x]`;
  h.sim.failNext("send_group_msg", { slow: 50 });
  const { id } = await adapter.send(String(GROUP), text);
  const [sent] = h.sim.sent(GROUP);
  assert.equal(id, `${GROUP}:${sent!.messageId}`); // the form of the own echo's InboundMessage.id
  assert.deepEqual(sent!.message, [{ type: "text", data: { text } }]); // arrays carry text as is: no CQ injection
  assertCleanRun(h);
});

test("send errors: fatal (unknown group, unconfigured, too long), retry (not online, 429, 503), unknown (SEND_MSG_API_ERROR, reset after delivery, 500 before or after, malformed); the adapter sends each once (settling an unknown is the relay's)", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { groups: [{ id: GROUP }] });
  const idle = h.adapter();
  assert.equal((await sendError(idle.send(String(GROUP), "x"))).kind, "retry");
  const { adapter } = await h.run({}, { groups: [String(GROUP), "999"] });
  assert.equal((await sendError(adapter.send("999", "x"))).kind, "fatal"); // GROUP_NOT_FOUND
  assert.equal((await sendError(adapter.send("555", "x"))).kind, "fatal");
  assert.equal((await sendError(adapter.send(String(GROUP), "x".repeat(ONEBOT11_MAX_MESSAGE_LENGTH + 1)))).kind, "fatal");
  h.sim.failNext("send_group_msg", "429");
  const limited = await sendError(adapter.send(String(GROUP), "a"));
  assert.deepEqual([limited.kind, limited.retryAfterMs], ["retry", 1000]);
  h.sim.failNext("send_group_msg", "503");
  assert.equal((await sendError(adapter.send(String(GROUP), "a"))).kind, "retry");
  h.sim.failNext("send_group_msg", "reset-after");
  assert.equal((await sendError(adapter.send(String(GROUP), "b"))).kind, "unknown");
  h.sim.failNext("send_group_msg", "500");
  assert.equal((await sendError(adapter.send(String(GROUP), "c"))).kind, "unknown");
  h.sim.failNext("send_group_msg", "malformed");
  assert.equal((await sendError(adapter.send(String(GROUP), "d"))).kind, "unknown");
  h.sim.failNext("send_group_msg", { retcode: 100, msg: "SEND_MSG_API_ERROR" });
  assert.equal((await sendError(adapter.send(String(GROUP), "e"))).kind, "unknown");
  h.sim.failNext("send_group_msg", "500-after");
  assert.equal((await sendError(adapter.send(String(GROUP), "f"))).kind, "unknown");
  await adapter.send(String(GROUP), "a"); // the relay's retry of a "retry"
  // Each reached the server at most once from the adapter: no resend of its own. Whether c and e
  // (not run by the server) go out again is the relay's to settle by echo, history or resend.
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["b", "d", "f", "a"]);
  assertCleanRun(h);
});

test("a send whose answer never comes over HTTP (stall after it ran) is 'unknown' once its timeout passes", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run({}, { sendTimeoutMs: 300 });
  h.sim.failNext("send_group_msg", "stall-after");
  assert.equal((await sendError(adapter.send(String(GROUP), "g"))).kind, "unknown");
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["g"]);
  assertCleanRun(h);
});

test("a refused connection (nothing sent) is 'retry'; a reset or timeout after sending is 'unknown'", { timeout: 10_000 }, async (t) => {
  const stream = new HTTPStream();
  t.after(() => stream.close());
  const port = await freePort();
  const refused = await stream.request({ url: `http://127.0.0.1:${port}/send_group_msg`, method: "POST", json: {}, retry: false }).catch((e: unknown) => e);
  assert.equal(sendFailure(refused, "g", 1).kind, "retry");
  const reset = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
  assert.equal(sendFailure(reset, "g", 1).kind, "unknown");
  const timeout = Object.assign(new Error("Headers Timeout Error"), { code: "UND_ERR_HEADERS_TIMEOUT" });
  assert.equal(sendFailure(timeout, "g", 1).kind, "unknown");
  // Only after a timeout may the server still act on the request (and echo it later).
  assert.equal(sendFailure(reset, "g", 1).serverDone, true);
  assert.equal(sendFailure(timeout, "g", 1).serverDone, undefined);
  assert.equal(sendFailure(Object.assign(new Error("wrapped"), { cause: timeout }), "g", 1).serverDone, undefined);
});

test("a refused token is 'retry' and sets auth-failed (webhook mode: no poll to tell)", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run({ events: "webhook", webhook: { listen: "127.0.0.1:0" } });
  h.sim.setToken("rotated-token-456");
  const err = await sendError(adapter.send(String(GROUP), "x"));
  assert.equal(err.kind, "retry", err.message);
  assert.ok(err.retryAfterMs! > 0);
  assert.equal(adapter.status().state, "auth-failed");
  h.sim.setToken(h.sim.secrets[0]!);
  await adapter.send(String(GROUP), "y");
  assert.equal(adapter.status().state, "online");
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["y"]);
  assertCleanRun(h, [...h.sim.secrets, "rotated-token-456"]);
});
