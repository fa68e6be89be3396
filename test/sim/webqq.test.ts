// The simulator's own strictness: it must refuse what the real server refused, so that client
// tests passing against it mean something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { startWebqqSim, type WebqqSim } from "./webqq.ts";
import { groupListHash, hash33 } from "../../bridge/networks/webqq/hash.ts";

const UA = "Mozilla/5.0 (sim test)";

/** A bare browser: fetch plus a cookie map, headers set by hand. */
function browser(sim: WebqqSim) {
  const jar = new Map<string, string>();
  const d1 = `${sim.url}/proxy.html?v=20151105001&callback=1&id=2`;
  const s = `${sim.url}/proxy.html?v=20130916001&callback=1&id=1`;
  async function go(path: string, init: { referer?: string; origin?: boolean; r?: unknown; ua?: string } = {}) {
    const headers: Record<string, string> = { "user-agent": init.ua ?? UA };
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (init.referer) headers.referer = init.referer;
    if (init.origin) headers.origin = sim.url;
    let body: string | undefined;
    if (init.r !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded; charset=UTF-8";
      body = new URLSearchParams({ r: JSON.stringify(init.r) }).toString();
    }
    const res = await fetch(sim.url + path, { method: body ? "POST" : "GET", headers, body, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(";");
      const i = kv!.indexOf("=");
      jar.set(kv!.slice(0, i), kv!.slice(i + 1));
    }
    return res;
  }
  // Bodies are JSON the test picks apart freely.
  const json = (res: Response): Promise<any> => res.json();
  return { go, jar, d1, s, json };
}

test("sim: the login chain, its checks, and a message both ways", async (t) => {
  const sim = await startWebqqSim({ holdMs: 50, autoScan: 1 });
  t.after(() => sim.close());
  const b = browser(sim);
  const login = `${sim.url}/cgi-bin/login?daid=164&appid=501004106`;
  assert.equal((await b.go("/ptqrshow?appid=501004106&e=0")).headers.get("content-type"), "image/png");
  const qrsig = b.jar.get("qrsig")!;

  // No Referer: refused and recorded; wrong ptqrtoken: refused.
  assert.equal((await b.go(`/ptqrlogin?ptqrtoken=${hash33(qrsig)}&aid=501004106`)).status, 403);
  assert.match(await (await b.go(`/ptqrlogin?ptqrtoken=1&aid=501004106`, { referer: login })).text(), /10006/);
  assert.equal(sim.violations.length, 2);
  sim.violations.length = 0;

  const poll = () => b.go(`/ptqrlogin?ptqrtoken=${hash33(qrsig)}&aid=501004106`, { referer: login }).then((r) => r.text());
  assert.match(await poll(), /ptuiCB\('67'/);
  const ok = await poll();
  const checkSig = /ptuiCB\('0','0','([^']+)'/.exec(ok)![1]!;
  const redirect = await b.go(checkSig.slice(sim.url.length));
  assert.equal(redirect.status, 302);
  const ptwebqq = b.jar.get("ptwebqq")!;
  assert.ok(ptwebqq && b.jar.get("p_skey"));

  const vf = await b.json(await b.go(`/api/getvfwebqq?ptwebqq=${ptwebqq}&clientid=53999199&psessionid=&t=0.1`, { referer: b.s }));
  const vfwebqq = vf.result.vfwebqq as string;
  const l2 = await b.json(await b.go("/channel/login2", { referer: b.d1, origin: true, r: { ptwebqq, clientid: 53999199, psessionid: "", status: "online" } }));
  const { psessionid, uin } = l2.result;
  const pollR = { ptwebqq, clientid: 53999199, psessionid, key: "" };
  // Poll before the warm-up: 103.
  assert.deepEqual(await b.json(await b.go("/channel/poll2", { referer: b.d1, origin: true, r: pollR })), { retcode: 103 });
  await b.go(`/channel/get_online_buddies2?vfwebqq=${vfwebqq}&clientid=53999199&psessionid=${psessionid}&t=0.1`, { referer: b.d1 });

  // Group list: a wrong hash is refused; the right one lists gid and a distinct code.
  const bad = await b.json(await b.go("/api/get_group_name_list_mask2", { referer: b.s, origin: true, r: { vfwebqq, hash: "0000000000000000" } }));
  assert.equal(bad.retcode, 100001);
  const list = await b.json(await b.go("/api/get_group_name_list_mask2", { referer: b.s, origin: true, r: { vfwebqq, hash: groupListHash(uin, ptwebqq) } }));
  const group = list.result.gnamelist[0];
  assert.equal(group.name, "Dev Group");
  assert.notEqual(group.gid, group.code);

  sim.inject({ group: "Dev Group", sender: { name: "alice" }, content: ["hi ", ["face", 14]] });
  const msgs = await b.json(await b.go("/channel/poll2", { referer: b.d1, origin: true, r: pollR }));
  assert.equal(msgs.result[0].value.from_uin, group.gid);
  assert.deepEqual(msgs.result[0].value.content.slice(1), ["hi ", ["face", 14]]);

  // Sends: a raw array and a font-first content are refused; the right shape is recorded.
  const send = (content: unknown) =>
    b.go("/channel/send_qun_msg2", { referer: b.d1, origin: true, r: { group_uin: group.gid, content, face: 522, clientid: 53999199, msg_id: 1, psessionid } }).then(b.json);
  const font = ["font", { name: "宋体", size: 10, style: [0, 0, 0], color: "000000" }];
  assert.equal((await send(["x", font])).retcode, 100001);
  assert.equal((await send(JSON.stringify([font, "x"]))).retcode, 100001);
  assert.deepEqual(await send(JSON.stringify(["<b>&</b> ", ["face", 14], font])), { errCode: 0, msg: "send ok" });
  assert.deepEqual((await sim.waitForSent("Dev Group", 1)).map((m) => m.text), ["<b>&</b> /微笑"]);
  assert.equal(sim.violations.length, 3);
});

test("sim: standalone prints its base URL first and takes control over HTTP", async (t) => {
  const child = spawn(process.execPath, ["test/sim/webqq.ts", "--port", "0", "--hold", "50"], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill());
  const [first] = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
  assert.match(first!, /^http:\/\/127\.0\.0\.1:\d+$/);
  const injected = await fetch(`${first}/_sim/inject`, {
    method: "POST",
    body: JSON.stringify({ group: "Dev Group", sender: { name: "carol" }, content: "hello" }),
  }).then((r) => r.json() as Promise<{ msgId: unknown }>);
  assert.equal(typeof injected.msgId, "number");
  const state = await fetch(`${first}/_sim/state`).then((r) => r.json() as Promise<{ queued: number }>);
  assert.equal(state.queued, 1);
  const badGroup = await fetch(`${first}/_sim/inject`, { method: "POST", body: JSON.stringify({ group: "nope", sender: { name: "x" }, content: "" }) });
  assert.equal(badGroup.status, 400);
});

test("sim: send faults are named strictly over HTTP; lose-session and refuse-relink switch the session off and the cookies' relink", async (t) => {
  const sim = await startWebqqSim({ holdMs: 50, autoScan: 1 });
  t.after(() => sim.close());
  const post = (path: string, body?: unknown) =>
    fetch(`${sim.url}${path}`, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });
  for (const fault of ["reset", "500", "stall", "reset-after", "500-after", "stall-after", "reset-before", "1202"]) {
    assert.equal((await post("/_sim/fail-send", { fault })).status, 200, fault);
  }
  assert.equal((await post("/_sim/fail-send", { fault: { retcode: 100006 }, count: 2 })).status, 200);
  assert.equal(sim.state.sendFaults.length, 10);
  const bad = await post("/_sim/fail-send", { fault: "explode" });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /unknown send fault "explode"/);
  assert.equal((await post("/_sim/fail-send", { fault: "reset", count: 0 })).status, 400);
  assert.equal(sim.state.sendFaults.length, 10);

  // A logged-in web session: check_sig through the QR, as a browser would.
  const b = browser(sim);
  const login = `${sim.url}/cgi-bin/login?daid=164&appid=501004106`;
  await b.go("/ptqrshow?appid=501004106&e=0");
  const qrsig = b.jar.get("qrsig")!;
  const poll = () => b.go(`/ptqrlogin?ptqrtoken=${hash33(qrsig)}&aid=501004106`, { referer: login }).then((r) => r.text());
  await poll(); // 67
  const checkSig = /ptuiCB\('0','0','([^']+)'/.exec(await poll())![1]!;
  await b.go(checkSig.slice(sim.url.length));
  const ptwebqq = b.jar.get("ptwebqq")!;
  const vf = () => b.go(`/api/getvfwebqq?ptwebqq=${ptwebqq}&clientid=53999199&psessionid=&t=0.1`, { referer: b.s }).then(b.json);
  const login2 = () => b.go("/channel/login2", { referer: b.d1, origin: true, r: { ptwebqq, clientid: 53999199, psessionid: "", status: "online" } }).then(b.json);
  assert.equal((await vf()).retcode, 0);
  const { psessionid } = (await login2()).result;

  assert.deepEqual(await (await post("/_sim/lose-session")).json(), { ok: true });
  const pollR = { ptwebqq, clientid: 53999199, psessionid, key: "" };
  assert.equal((await b.json(await b.go("/channel/poll2", { referer: b.d1, origin: true, r: pollR }))).retcode, 121);
  assert.equal((await vf()).retcode, 0, "the cookies still relink");

  assert.deepEqual(await (await post("/_sim/refuse-relink")).json(), { ok: true });
  assert.equal((await vf()).retcode, 100001, "the cookies no longer relink");
  assert.equal((await login2()).retcode, 103);
  const state = (await (await fetch(`${sim.url}/_sim/state`)).json()) as { relinkRefused: boolean; loggedIn: boolean };
  assert.deepEqual([state.relinkRefused, state.loggedIn], [true, false]);
  assert.deepEqual(sim.violations, []);
});
