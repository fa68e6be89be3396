// The simulator itself: it refuses what a real OneBot 12 implementation refuses (and records
// why), and its get_latest_events flavours behave as protocols.md §3 describes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { startOnebot12Sim, type Onebot12Sim } from "./onebot12.ts";

async function post(sim: Onebot12Sim, body: unknown, o: { auth?: string | null; type?: string; path?: string; method?: string; query?: string } = {}) {
  const headers: Record<string, string> = { "content-type": o.type ?? "application/json" };
  const auth = o.auth === undefined ? `Bearer ${sim.token}` : o.auth;
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(`${sim.url.replace(/\/$/, "")}${o.path ?? "/"}${o.query ?? ""}`, {
    method: o.method ?? "POST",
    headers,
    ...((o.method ?? "POST") === "POST" ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: { status?: string; retcode?: number; data?: unknown; echo?: unknown } | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

test("HTTP-level refusals: 405 non-POST, 404 other path, 401 token, 415 content type", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim();
  t.after(() => sim.close());
  const call = { action: "get_status", params: {} };
  assert.equal((await post(sim, call, { method: "GET" })).status, 405);
  assert.equal((await post(sim, call, { path: "/get_status" })).status, 404);
  assert.equal((await post(sim, call, { auth: null })).status, 401);
  assert.equal((await post(sim, call, { auth: "Bearer nope" })).status, 401);
  assert.equal((await post(sim, call, { type: "application/x-www-form-urlencoded" })).status, 415);
  assert.equal(sim.violations.length, 5);
  // The token by query when no header is sent; the header wins when both are.
  assert.equal((await post(sim, call, { auth: null, query: `?access_token=${sim.token}` })).json?.status, "ok");
  assert.equal((await post(sim, call, { auth: "Bearer nope", query: `?access_token=${sim.token}` })).status, 401);
  assert.equal((await post(sim, call, { type: "application/json; charset=utf-8" })).json?.status, "ok");
});

test("body-level refusals are HTTP 200 with a retcode: 10001, 10002, 10003 (ids are strings), 10005, 10006; echo comes back", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim();
  t.after(() => sim.close());
  const code = async (body: unknown) => {
    const r = await post(sim, body);
    assert.equal(r.status, 200);
    return r.json?.retcode;
  };
  assert.equal(await code("{broken"), 10001);
  assert.equal(await code({ action: "get_status" }), 10001);
  assert.equal(await code({ action: "fly", params: {} }), 10002);
  const send = (params: Record<string, unknown>) => ({ action: "send_message", params: { detail_type: "group", group_id: "12345", message: "hi", ...params } });
  assert.equal(await code(send({ group_id: 12345 })), 10003);
  assert.equal(await code(send({ message: [] })), 10003);
  assert.equal(await code(send({ message: [{ type: "sticker", data: {} }] })), 10005);
  assert.equal(await code(send({ message: [{ type: "text", data: {} }] })), 10006);
  assert.equal(await code({ action: "get_latest_events", params: { timeout: 0.5 } }), 10003);
  assert.equal(sim.violations.length, 8);
  const ok = await post(sim, { ...send({}), echo: "e1" });
  assert.deepEqual([ok.json?.status, ok.json?.echo], ["ok", "e1"]);
  assert.equal(sim.sent("12345")[0]!.text, "hi"); // a plain string is one text segment
});

test("several bots: non-meta actions need self (10101), an unknown self is 10102, meta actions need none", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim({ bots: [{ platform: "qq", user_id: "1" }, { platform: "qq", user_id: "2" }] });
  t.after(() => sim.close());
  assert.equal((await post(sim, { action: "get_self_info", params: {} })).json?.retcode, 10101);
  assert.equal((await post(sim, { action: "get_self_info", params: {}, self: { platform: "qq", user_id: "3" } })).json?.retcode, 10102);
  const me = await post(sim, { action: "get_self_info", params: {}, self: { platform: "qq", user_id: "2" } });
  assert.equal((me.json?.data as { user_id: string }).user_id, "2");
  const status = await post(sim, { action: "get_status", params: {} });
  assert.equal((status.json?.data as { bots: unknown[] }).bots.length, 2);
});

test("get_latest_events: events are gone once handed out; honour: timeout 0 answers at once, meta never listed", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim();
  t.after(() => sim.close());
  sim.inject({ group: "12345", member: { user_id: "9", user_name: "n" }, message: "a" });
  sim.inject({ group: "12345", member: { user_id: "9", user_name: "n" }, message: "b" });
  sim.heartbeat(); // not queued outside go-cqhttp mode
  const first = await post(sim, { action: "get_latest_events", params: { limit: 1, timeout: 0 } });
  assert.equal((first.json?.data as unknown[]).length, 1);
  const rest = await post(sim, { action: "get_latest_events", params: { limit: 0, timeout: 0 } });
  assert.deepEqual((rest.json?.data as { alt_message: string }[]).map((e) => e.alt_message), ["b"]);
  const none = await post(sim, { action: "get_latest_events", params: { timeout: 0 } });
  assert.deepEqual(none.json?.data, []);
  // A held poll is woken by an event.
  const held = post(sim, { action: "get_latest_events", params: { timeout: 30 } });
  await sim.state.waitFor(() => (sim.state.holding === 1 ? true : undefined));
  sim.inject({ group: "12345", member: { user_id: "9", user_name: "n" }, message: "c" });
  assert.equal(((await held).json?.data as unknown[]).length, 1);
  assert.deepEqual(sim.violations, []);
});

test("gocqhttp mode: timeout 0 blocks until an event, heartbeats are listed; a second poll while one is held is an error", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim({ timeoutMode: "gocqhttp" });
  t.after(() => sim.close());
  const held = post(sim, { action: "get_latest_events", params: { timeout: 0 } });
  await sim.state.waitFor(() => (sim.state.holding === 1 ? true : undefined));
  const second = await post(sim, { action: "get_latest_events", params: { timeout: 1 } });
  assert.equal(second.json?.status, "failed");
  assert.equal(sim.state.counters.concurrentPolls, 1);
  sim.heartbeat();
  assert.deepEqual(((await held).json?.data as { type: string }[]).map((e) => e.type), ["meta"]);
});

test("instant mode answers [] at once whatever the timeout", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim({ timeoutMode: "instant" });
  t.after(() => sim.close());
  const r = await post(sim, { action: "get_latest_events", params: { timeout: 60 } });
  assert.deepEqual(r.json?.data, []);
  assert.equal(sim.state.counters.heldPolls, 0);
});

test("standalone: prints its base URL first and serves actions", { timeout: 10_000 }, async (t) => {
  const child = spawn(process.execPath, ["test/sim/onebot12.ts", "--port", "0", "--token", "standalone-token"], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => {
    child.kill("SIGTERM");
  });
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  const [line] = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
  assert.match(line!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const res = await fetch(line!, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer standalone-token" }, body: JSON.stringify({ action: "get_version", params: {} }) });
  assert.equal(((await res.json()) as { status: string }).status, "ok");
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
});

test("own sends come back as message events with the send's message_id (echoOwn, the default)", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim();
  t.after(() => sim.close());
  const sent = await post(sim, { action: "send_message", params: { detail_type: "group", group_id: "12345", message: "mine" } });
  const { message_id } = sent.json?.data as { message_id: string };
  const events = (await post(sim, { action: "get_latest_events", params: { timeout: 0 } })).json?.data as Record<string, unknown>[];
  assert.equal(events.length, 1);
  assert.deepEqual([events[0]!.message_id, events[0]!.user_id, events[0]!.group_id, events[0]!.alt_message], [message_id, "10001", "12345", "mine"]);
  const quiet = await startOnebot12Sim({ echoOwn: false });
  t.after(() => quiet.close());
  await post(quiet, { action: "send_message", params: { detail_type: "group", group_id: "12345", message: "mine" } });
  assert.deepEqual((await post(quiet, { action: "get_latest_events", params: { timeout: 0 } })).json?.data, []);
});

test("the common send faults over /_sim/fail-send: reset, 500, stall send nothing; their -after twins send (and echo), then lose the answer", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim();
  t.after(() => sim.close());
  const base = sim.url.replace(/\/$/, "");
  for (const fault of ["reset", "500", "stall", "reset-after", "500-after", "stall-after"]) {
    assert.deepEqual(await fetch(`${base}/_sim/fail-send`, { method: "POST", body: JSON.stringify({ fault }) }).then((r) => r.json()), { queued: 1 });
    const ac = new AbortController();
    const answered = fetch(sim.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${sim.token}` },
      body: JSON.stringify({ action: "send_message", params: { detail_type: "group", group_id: "12345", message: fault } }),
      signal: ac.signal,
    }).then((r) => r.status, () => 0);
    if (fault.startsWith("stall")) {
      await new Promise((r) => sim.state.once("fault", r));
      ac.abort();
    }
    assert.equal(await answered, fault.startsWith("500") ? 500 : 0, fault);
  }
  assert.deepEqual(sim.sent().map((m) => m.text), ["reset-after", "500-after", "stall-after"]);
  const echoed = (await post(sim, { action: "get_latest_events", params: { timeout: 0 } })).json?.data as { alt_message: string; message_id: string }[];
  assert.deepEqual(echoed.map((e) => [e.alt_message, e.message_id]), sim.sent().map((m) => [m.text, m.message_id]));
  assert.deepEqual(sim.violations, []);
});

test("rich refusals: reply/mention without their ids, an image of a file never uploaded, upload_file without a name or with a bad URL (10003/10006, recorded); a reply to an unknown message is dropped; delete_message of another's message needs admin", { timeout: 10_000 }, async (t) => {
  const sim = await startOnebot12Sim();
  t.after(() => sim.close());
  const send = (message: unknown) => post(sim, { action: "send_message", params: { detail_type: "group", group_id: "12345", message } });
  assert.equal((await send([{ type: "reply", data: {} }])).json?.retcode, 10006);
  assert.equal((await send([{ type: "mention", data: { user_id: 5 } }])).json?.retcode, 10006);
  assert.equal((await send([{ type: "image", data: { file_id: "never-uploaded" } }])).json?.retcode, 10006);
  assert.equal((await post(sim, { action: "upload_file", params: { type: "url", url: "http://x/y.png" } })).json?.retcode, 10003);
  assert.equal((await post(sim, { action: "upload_file", params: { type: "url", name: "a", url: "ftp://x" } })).json?.retcode, 10003);
  assert.equal(sim.violations.length, 5);
  assert.equal((await send([{ type: "reply", data: { message_id: "424242" } }, { type: "text", data: { text: "kept" } }])).json?.status, "ok");
  assert.deepEqual(sim.sent("12345").map((m) => m.message), [[{ type: "text", data: { text: "kept" } }]]);
  const theirs = sim.inject({ group: "12345", member: { user_id: "20002", user_name: "bob" }, message: "hi" });
  const refused = await post(sim, { action: "delete_message", params: { message_id: theirs } });
  assert.deepEqual([refused.json?.status, sim.state.deleted.has(theirs)], ["failed", false]);
  sim.state.botRole = "admin";
  assert.equal((await post(sim, { action: "delete_message", params: { message_id: theirs } })).json?.status, "ok");
  assert.equal((await post(sim, { action: "delete_message", params: { message_id: theirs } })).json?.retcode, 35003);
});
