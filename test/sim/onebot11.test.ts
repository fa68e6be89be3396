// The simulator's own strictness: it refuses what the real servers refused, so that client tests
// passing against it mean something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { WebSocket as WsClient } from "ws";
import { startOnebot11Sim } from "./onebot11.ts";

// Bodies are JSON the test picks apart freely.
const json = (res: Response): Promise<any> => res.json();
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

test("sim: auth per flavor (go-cqhttp 401 missing / 403 wrong; NapCat 403 for both), query token accepted", async (t) => {
  const go = await startOnebot11Sim({ token: "abc123" });
  const nap = await startOnebot11Sim({ token: "abc123", flavor: "napcat" });
  t.after(() => Promise.all([go.close(), nap.close()]));
  assert.equal((await post(`${go.url}/get_login_info`, {})).status, 401);
  assert.equal((await post(`${go.url}/get_login_info`, {}, { authorization: "Bearer nope" })).status, 403);
  assert.equal((await post(`${go.url}/get_login_info?access_token=abc123`, {})).status, 200);
  assert.equal((await post(`${nap.url}/get_login_info`, {})).status, 403);
  assert.deepEqual(await json(await post(`${nap.url}/get_login_info`, {}, { authorization: "Bearer nope" })), { message: "token verify failed!" });
  const ok = await json(await post(`${go.url}/get_login_info`, {}, { authorization: "Bearer abc123" }));
  assert.deepEqual([ok.status, ok.retcode, ok.data.user_id], ["ok", 0, go.state.selfId]);
});

test("sim: get_updates without a positive timeout, a bad send and an unknown action are refused and recorded", async (t) => {
  const sim = await startOnebot11Sim({ token: null });
  t.after(() => sim.close());
  assert.equal((await json(await fetch(`${sim.url}/get_updates?limit=10`))).status, "failed");
  assert.equal((await json(await fetch(`${sim.url}/get_updates?timeout=0`))).status, "failed");
  assert.equal((await json(await post(`${sim.url}/send_group_msg`, { group_id: "abc", message: "x" }))).status, "failed");
  assert.equal((await json(await post(`${sim.url}/send_group_msg`, { group_id: 123456, message: [{ data: {} }] }))).status, "failed");
  const missing = await json(await post(`${sim.url}/no_such_action`, {}));
  assert.deepEqual([missing.retcode, missing.msg], [404, "API_NOT_FOUND"]);
  const unknownGroup = await json(await post(`${sim.url}/send_group_msg`, { group_id: 1, message: "x" }));
  assert.deepEqual([unknownGroup.status, unknownGroup.msg], ["failed", "GROUP_NOT_FOUND"]);
  assert.equal(sim.violations.length, 5);
  sim.inject({ group: 123456, sender: { nickname: "a" }, message: "[x]" });
  sim.heartbeat();
  const got = await json(await fetch(`${sim.url}/get_updates?limit=1&timeout=1`));
  assert.deepEqual([got.data.length, got.data[0].message], [1, "&#91;x&#93;"]); // string format, escaped
  assert.equal(sim.state.queue.length, 1); // the heartbeat waits for the next poll; the message is gone from the server
});

test("sim: Lagrange refuses a Content-Type with parameters (406); unknown actions are HTTP 404 there", async (t) => {
  const sim = await startOnebot11Sim({ token: null, flavor: "lagrange" });
  t.after(() => sim.close());
  const res = await fetch(`${sim.url}/get_login_info`, { method: "POST", headers: { "content-type": "application/json; charset=utf-8" }, body: "{}" });
  assert.equal(res.status, 406);
  assert.equal((await post(`${sim.url}/nope`, {})).status, 404);
  assert.equal(sim.violations.length, 2);
});

test("sim: standalone mode prints its base URL first", async (t) => {
  const child = spawn(process.execPath, ["test/sim/onebot11.ts", "--port", "0", "--token", "t0ken"], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill());
  const [line] = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
  assert.match(line!, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await post(`${line}/get_login_info`, {}, { authorization: "Bearer t0ken" })).status, 200);
});


/** Opens a socket to the sim; resolves with the socket and its frames, or the HTTP status it was refused with. */
function openWs(url: string, headers: Record<string, string> = {}): Promise<{ ws?: WsClient; frames: any[]; status?: number; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const ws = new WsClient(url, { headers });
    const frames: any[] = [];
    const closed = new Promise<void>((r) => ws.on("close", () => r()));
    ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
    ws.on("open", () => resolve({ ws, frames, closed }));
    ws.on("unexpected-response", (_req, res) => {
      resolve({ frames, status: res.statusCode, closed });
      ws.terminate();
    });
    ws.on("error", () => undefined);
  });
}

async function call(c: { ws?: WsClient; frames: any[] }, action: string, params: unknown, echo: string): Promise<any> {
  c.ws!.send(JSON.stringify({ action, params, echo }));
  for (;;) {
    const got = c.frames.find((f) => f.echo === echo);
    if (got) return got;
    await new Promise((r) => c.ws!.once("message", r));
  }
}

test("sim ws: a bad token per flavor (go-cqhttp 401/403 and Lagrange 403 at the upgrade; NapCat and LLBot a 1403 frame then a close)", async (t) => {
  for (const flavor of ["go-cqhttp", "lagrange", "napcat", "llbot"] as const) {
    const sim = await startOnebot11Sim({ token: "abc", flavor });
    t.after(() => sim.close());
    const missing = await openWs(sim.wsUrl);
    const wrong = await openWs(sim.wsUrl, { authorization: "Bearer nope" });
    if (flavor === "go-cqhttp" || flavor === "lagrange") {
      assert.deepEqual([missing.status, wrong.status], [flavor === "go-cqhttp" ? 401 : 403, 403]);
    } else {
      await wrong.closed;
      assert.deepEqual(wrong.frames.map((f) => f.retcode), [1403], flavor);
    }
    const ok = await openWs(`${sim.wsUrl}/?access_token=abc`, flavor === "lagrange" || flavor === "llbot" ? { authorization: "Bearer abc" } : {});
    assert.ok(ok.ws, flavor);
    ok.ws!.close();
  }
});

test("sim ws: events go only to open sockets (nothing queued); history has them, with message_seq per flavor; own sends as message_sent only with the switch", async (t) => {
  const sim = await startOnebot11Sim({ token: null, flavor: "go-cqhttp", echoOwn: true });
  t.after(() => sim.close());
  sim.inject({ group: 123456, sender: { nickname: "a" }, message: "before any socket" });
  const c = await openWs(sim.wsUrl);
  sim.inject({ group: 123456, sender: { nickname: "a" }, message: "live" });
  const sent = await call(c, "send_group_msg", { group_id: 123456, message: [{ type: "text", data: { text: "mine" } }] }, "e1");
  assert.equal(sent.status, "ok");
  const h = await call(c, "get_group_msg_history", { group_id: 123456 }, "e2");
  assert.deepEqual(h.data.messages.map((m: any) => [m.post_type, m.message_seq]), [["message", 1001], ["message", 1002], ["message_sent", 1003]]);
  const older = await call(c, "get_group_msg_history", { group_id: 123456, message_seq: 1001 }, "e3");
  assert.equal(older.data.messages.length, 1); // inclusive anchor
  const events = c.frames.filter((f) => f.post_type === "message" || f.post_type === "message_sent").map((f) => f.post_type + ":" + (typeof f.message === "string" ? f.message : f.message[0].data.text));
  assert.deepEqual(events, ["message:live", "message_sent:mine"]); // "before any socket" was never pushed
  const missing = await call(c, "no_such_action", {}, "e4");
  assert.deepEqual([missing.retcode, missing.echo], [404, "e4"]);
  c.ws!.close();
  assert.deepEqual(sim.violations, ["unknown action no_such_action"]);
});

test("sim: /_sim/fail-send faults in both variants over HTTP: before (nothing recorded) and after (recorded, answer lost)", async (t) => {
  const sim = await startOnebot11Sim({ token: null });
  t.after(() => sim.close());
  const fault = (f: string) => post(`${sim.url}/_sim/fail-send`, { fault: f });
  const send = (text: string) => post(`${sim.url}/send_group_msg`, { group_id: 123456, message: text }).then((r) => r.status, () => "reset");
  await fault("500");
  assert.equal(await send("a"), 500);
  await fault("reset");
  assert.equal(await send("b"), "reset");
  await fault("500-after");
  assert.equal(await send("c"), 500);
  await fault("reset-after");
  assert.equal(await send("d"), "reset");
  const recorded = await json(await fetch(`${sim.url}/_sim/sent?group=123456`));
  assert.deepEqual(recorded.map((m: any) => m.text), ["c", "d"]);
});

test("sim: malformed reply / at / image segments and a delete_msg without a numeric id are refused and recorded; a reply to an unknown message is dropped, the rest sent; an image URL that gives no picture fails the send", async (t) => {
  const sim = await startOnebot11Sim({ token: null, flavor: "napcat" });
  t.after(() => sim.close());
  const send = (message: unknown) => post(`${sim.url}/send_group_msg`, { group_id: 123456, message }).then(json);
  for (const bad of [[{ type: "reply", data: { id: "x" } }], [{ type: "at", data: {} }], [{ type: "image", data: { file: "c:/a.png" } }]]) {
    const r = await send([...bad, { type: "text", data: { text: "t" } }]);
    assert.deepEqual([r.status, r.retcode], ["failed", 1200], JSON.stringify(bad));
  }
  assert.equal(sim.violations.length, 3);
  const dropped = await send([{ type: "reply", data: { id: "5" } }, { type: "text", data: { text: "kept" } }]);
  assert.equal(dropped.status, "ok");
  assert.deepEqual(sim.sent(123456).map((m) => m.message), [[{ type: "text", data: { text: "kept" } }]]);
  const noPicture = await send([{ type: "image", data: { file: `${sim.url}/_sim/media/none.png` } }]);
  assert.deepEqual([noPicture.status, sim.sent(123456).length], ["failed", 1]);
  const del = await json(await post(`${sim.url}/delete_msg`, { message_id: "abc" }));
  assert.equal(del.status, "failed");
  assert.equal(sim.violations.length, 4);
});
