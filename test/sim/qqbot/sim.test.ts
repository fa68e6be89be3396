// The QQ bot simulator refuses what the platform refuses: token requests (HTTP 200 with a code),
// auth header forms, expired tokens, group sends outside a window or with a reused msg_seq,
// channel sends over the quota or without a gateway session, Identify with bad tokens or intents,
// a Resume of an unknown session, late heartbeats. And it runs standalone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { INTENTS, startQqbotSim, type QqbotSim } from "../qqbot.ts";

const T = { timeout: 30_000 };

async function token(sim: QqbotSim): Promise<string> {
  const r = await fetch(sim.tokenUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ appId: sim.appId, clientSecret: sim.secret }) });
  return ((await r.json()) as { access_token: string }).access_token;
}

async function api(sim: QqbotSim, path: string, auth: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${sim.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

test("standalone: prints its base URL, app id and secret, and serves", T, async (t) => {
  const proc = spawn(process.execPath, [new URL("../qqbot.ts", import.meta.url).pathname, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => proc.kill("SIGKILL"));
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const url = (await lines.next()).value as string;
  const appId = (await lines.next()).value as string;
  const secret = (await lines.next()).value as string;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await fetch(`${url}/app/getAppAccessToken`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ appId, clientSecret: secret }) });
  const b = (await r.json()) as { access_token: string; expires_in: unknown };
  assert.equal(typeof b.expires_in, "string");
  assert.equal((await fetch(`${url}/gateway/bot`, { headers: { authorization: `QQBot ${b.access_token}` } })).status, 200);
  // The control API: the common send faults by name, injected messages, state.
  const post = async (path: string, body: unknown) => (await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) })).json();
  for (const fault of ["reset", "500", "stall", "reset-after", "500-after", "stall-after"]) assert.deepEqual(await post("/_sim/fail-send", { fault }), { queued: 1 });
  const said = (await post("/_sim/say-channel", { channel: "1001", author: { id: "1", username: "u" }, text: "hi" })) as { id: string };
  assert.match(said.id, /^08/);
  assert.deepEqual(await post("/_sim/gateway", { action: "drop" }), { done: "drop" });
  const st = (await (await fetch(`${url}/_sim/state`)).json()) as { counters: { tokenRequests: number; missedEvents: number } };
  assert.deepEqual([st.counters.tokenRequests, st.counters.missedEvents], [1, 1]);
  proc.kill("SIGTERM");
  await once(proc, "exit");
});

test("tokens: errors are HTTP 200 with a code; the same token while valid; auth header forms; expiry", T, async (t) => {
  const sim = await startQqbotSim();
  t.after(() => sim.close());
  const form = await fetch(sim.tokenUrl, { method: "POST", body: new URLSearchParams({ appId: sim.appId, clientSecret: sim.secret }) });
  assert.deepEqual([form.status, ((await form.json()) as { code: number }).code], [200, 100007]);
  const wrong = await fetch(sim.tokenUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ appId: sim.appId, clientSecret: "nope" }) });
  assert.deepEqual([wrong.status, ((await wrong.json()) as { code: number }).code], [200, 100016]);
  const tk = await token(sim);
  assert.equal(await token(sim), tk, "no new token while more than the renew window is left");
  assert.equal((await api(sim, "/users/@me", `QQBot ${tk}`)).status, 200);
  assert.deepEqual((await api(sim, "/users/@me", `Bot ${sim.appId}.${tk}`)).body.code, 11245);
  assert.deepEqual((await api(sim, "/users/@me", "")).body.code, 11241);
  assert.deepEqual(await api(sim, "/users/@me", "QQBot bogus").then((r) => [r.status, r.body.code]), [401, 11244]);
  sim.state.expireTokens();
  assert.deepEqual(await api(sim, "/users/@me", `QQBot ${tk}`).then((r) => [r.status, r.body.code]), [401, 11244]);
  assert.notEqual(await token(sim), tk);
});

test("group sends: no msg_id → 40034102; a reused msg_seq → 40054005; a 6th reply → 40034128; an expired msg_id → 40034005", T, async (t) => {
  const sim = await startQqbotSim();
  t.after(() => sim.close());
  const auth = `QQBot ${await token(sim)}`;
  const g = sim.state.groups[0]!;
  const path = `/v2/groups/${g}/messages`;
  assert.equal((await api(sim, path, auth, { content: "x", msg_type: 0 })).body.code, 40034102);
  const m = sim.sayInGroup(g, "M", "hi");
  assert.equal((await api(sim, path, auth, { content: "1", msg_type: 0, msg_id: m, msg_seq: 1 })).status, 200);
  assert.equal((await api(sim, path, auth, { content: "again", msg_type: 0, msg_id: m, msg_seq: 1 })).body.code, 40054005);
  for (let s = 2; s <= 5; s++) assert.equal((await api(sim, path, auth, { content: String(s), msg_type: 0, msg_id: m, msg_seq: s })).status, 200);
  assert.equal((await api(sim, path, auth, { content: "6", msg_type: 0, msg_id: m, msg_seq: 6 })).body.code, 40034128);
  const m2 = sim.sayInGroup(g, "M", "later");
  sim.state.advance(5 * 60_000 + 1);
  assert.equal((await api(sim, path, auth, { content: "late", msg_type: 0, msg_id: m2, msg_seq: 1 })).body.code, 40034005);
  assert.equal(sim.sent(`group:${g}`).length, 5);
});

test("channel sends: not on the gateway → 304018; proactive over the quota → 22009; an expired msg_id → 304027", T, async (t) => {
  const sim = await startQqbotSim({ quotaPerDay: 1 });
  t.after(() => sim.close());
  const auth = `QQBot ${await token(sim)}`;
  assert.equal((await api(sim, "/channels/1001/messages", auth, { content: "x" })).body.code, 304018);
  sim.webhook.url = "http://127.0.0.1:9/unused"; // a webhook bot needs no socket
  assert.equal((await api(sim, "/channels/1001/messages", auth, { content: "proactive" })).status, 200);
  assert.equal((await api(sim, "/channels/1001/messages", auth, { content: "one more" })).body.code, 22009);
  const m = sim.sayInChannel("1001", { id: "1", username: "u" }, "hi");
  sim.state.advance(5 * 60_000 + 1);
  assert.equal((await api(sim, "/channels/1001/messages", auth, { content: "late", msg_id: m })).body.code, 304027);
  assert.equal((await api(sim, "/channels/1001/messages", auth, { content: "" })).body.code, 50006);
});

function gatewaySocket(sim: QqbotSim): Promise<{ ws: WebSocket; next: () => Promise<{ op: number; d: unknown; s?: number; t?: string }>; closed: Promise<number> }> {
  const ws = new WebSocket(sim.gateway.url);
  const queue: unknown[] = [];
  const waiters: ((v: never) => void)[] = [];
  ws.on("message", (data) => {
    const v = JSON.parse(String(data));
    const w = waiters.shift();
    if (w) w(v as never);
    else queue.push(v);
  });
  const closed = new Promise<number>((r) => ws.on("close", (code) => r(code)));
  return once(ws, "open").then(() => ({
    ws,
    closed,
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))) as Promise<{ op: number; d: unknown; s?: number; t?: string }>,
  }));
}

test("gateway: bad token → 4004; bad intents → 4013; GUILD_MESSAGES for a public bot → 4014; Resume of an unknown session → op 9; a silent client is closed; a heartbeat ahead of the seq is a violation", T, async (t) => {
  const sim = await startQqbotSim({ privateBot: false, heartbeatIntervalMs: 100 });
  t.after(() => sim.close());
  const tk = await token(sim);
  const identify = async (d: Record<string, unknown>): Promise<number> => {
    const c = await gatewaySocket(sim);
    assert.equal((await c.next()).op, 10);
    c.ws.send(JSON.stringify({ op: 2, d: { token: `QQBot ${tk}`, intents: INTENTS.PUBLIC_GUILD_MESSAGES, shard: [0, 1], ...d } }));
    return c.closed;
  };
  assert.equal(await identify({ token: "QQBot nope" }), 4004);
  assert.equal(await identify({ intents: 0 }), 4013);
  assert.equal(await identify({ intents: INTENTS.GUILD_MESSAGES }), 4014);
  assert.equal(await identify({ shard: [0, 2] }), 4010);

  const r = await gatewaySocket(sim);
  await r.next();
  r.ws.send(JSON.stringify({ op: 6, d: { token: `QQBot ${tk}`, session_id: "nope", seq: 3 } }));
  assert.deepEqual(await r.next(), { op: 9, d: false });
  r.ws.close();

  const c = await gatewaySocket(sim);
  await c.next();
  c.ws.send(JSON.stringify({ op: 2, d: { token: `QQBot ${tk}`, intents: INTENTS.PUBLIC_GUILD_MESSAGES, shard: [0, 1] } }));
  const ready = await c.next();
  assert.deepEqual([ready.op, ready.t, ready.s], [0, "READY", 1]);
  c.ws.send(JSON.stringify({ op: 1, d: 5 }));
  assert.equal((await c.next()).op, 11);
  assert.match(sim.violations.at(-1) ?? "", /heartbeat d 5/);
  // No more heartbeats: closed after two intervals.
  assert.equal(await c.closed, 4009);
});
