// The simulator's own strictness: it refuses what the real servers refused, so that client tests
// passing against it mean something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
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
