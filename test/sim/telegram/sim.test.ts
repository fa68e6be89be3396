// The simulator's own strictness: it must refuse what the real Bot API refused, and keep
// Telegram's offset rules, so that client tests passing against it mean something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { startTelegramSim, type TelegramSim } from "../telegram.ts";

type Answer = { ok: boolean; result?: any; error_code?: number; description?: string; parameters?: Record<string, unknown> };

function call(sim: TelegramSim, method: string, params?: Record<string, unknown>, token = sim.token): Promise<Answer> {
  const init: RequestInit = params === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) };
  return fetch(`${sim.url}/bot${token}/${method}`, init).then((r) => r.json() as Promise<Answer>);
}

const alice = { id: 501, first_name: "Alice" };
const DEV = -1001234567890;

test("sim: envelope, token, method names, unknown methods and unreadable bodies", async (t) => {
  const sim = await startTelegramSim();
  t.after(() => sim.close());
  const me = await call(sim, "getMe");
  assert.equal(me.ok, true);
  assert.equal(me.result.is_bot, true);
  assert.equal((await call(sim, "GETME")).ok, true); // case-insensitive
  assert.deepEqual(await call(sim, "getMe", undefined, "1:bad"), { ok: false, error_code: 401, description: "Unauthorized" });
  assert.deepEqual(sim.violations, []); // a wrong token is an answer, not a protocol violation
  assert.equal((await call(sim, "getChatHistory")).error_code, 404);
  const bad = await fetch(`${sim.url}/bot${sim.token}/sendMessage`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
  assert.equal(bad.status, 400);
  assert.equal(sim.violations.length, 2);
});

test("sim: offsets confirm and forget; negative offsets trim; skipping unseen updates is a violation; clamps", async (t) => {
  const sim = await startTelegramSim({ firstUpdateId: 10 });
  t.after(() => sim.close());
  for (const text of ["a", "b", "c", "d"]) sim.inject({ chat: DEV, from: alice, text });
  const all = await call(sim, "getUpdates", { limit: 0 }); // clamped to 1
  assert.deepEqual(all.result.map((u: { update_id: number }) => u.update_id), [10]);
  const next = await call(sim, "getUpdates", { offset: 11, limit: 500 });
  assert.deepEqual(next.result.map((u: { update_id: number }) => u.update_id), [11, 12, 13]);
  assert.equal(sim.state.polls.at(-1)!.limit, 100);
  await call(sim, "getUpdates", { offset: 13 }); // confirms 10–12: forgotten
  assert.deepEqual((await call(sim, "getUpdates", {})).result.map((u: { update_id: number }) => u.update_id), [13]);
  for (const text of ["e", "f", "g"]) sim.inject({ chat: DEV, from: alice, text });
  assert.deepEqual((await call(sim, "getUpdates", { offset: -2 })).result.map((u: { update_id: number }) => u.update_id), [15, 16]);
  assert.deepEqual(sim.violations, []);
  sim.inject({ chat: DEV, from: alice, text: "h" });
  await call(sim, "getUpdates", { offset: 100, timeout: 0 }); // 17 was never handed out
  assert.match(sim.violations[0]!, /confirms updates never handed out/);
  await call(sim, "getUpdates", { offset: 50 });
  assert.match(sim.violations[1]!, /goes back behind/);
  sim.inject({ chat: DEV, from: alice, text: "i" });
  await call(sim, "getUpdates", { offset: 0, timeout: 500 });
  assert.equal(sim.state.polls.at(-1)!.timeout, 50);
});

test("sim: one parked poll per bot (409 for the old one), the busy-loop guard, and 409 while a webhook is set", async (t) => {
  const sim = await startTelegramSim();
  t.after(() => sim.close());
  const first = call(sim, "getUpdates", { timeout: 5 });
  await sim.waitForPolls(1);
  const second = call(sim, "getUpdates", { timeout: 5 });
  const old = await first;
  assert.equal(old.error_code, 409);
  assert.match(old.description!, /terminated by other getUpdates request/);
  assert.match(sim.violations[0]!, /second long poll/);
  sim.inject({ chat: DEV, from: alice, text: "wakes the second" });
  assert.equal((await second).result.length, 1);
  // Same offset again within 3 s with timeout < 3: the server holds it 3 s.
  sim.inject({ chat: DEV, from: alice, text: "ready" });
  await call(sim, "getUpdates", { timeout: 0 });
  await call(sim, "getUpdates", { timeout: 0 });
  assert.equal(sim.state.polls.at(-1)!.timeout, 3);

  sim.setWebhook("https://example.org/hook");
  const refused = await call(sim, "getUpdates", {});
  assert.equal(refused.error_code, 409);
  assert.match(refused.description!, /webhook is active/);
  assert.equal((await call(sim, "deleteWebhook", {})).ok, true);
  assert.equal((await call(sim, "getUpdates", {})).ok, true);
});

test("sim: sendMessage checks chat, text, length and topic; 429 carries retry_after", async (t) => {
  const sim = await startTelegramSim();
  t.after(() => sim.close());
  const send = (p: Record<string, unknown>) => call(sim, "sendMessage", p);
  assert.equal((await send({ text: "x" })).description, "Bad Request: chat_id is empty");
  assert.equal((await send({ chat_id: DEV, text: "  " })).description, "Bad Request: message text is empty");
  assert.equal((await send({ chat_id: -1, text: "x" })).description, "Bad Request: chat not found");
  assert.equal((await send({ chat_id: DEV, text: "x".repeat(4097) })).description, "Bad Request: message is too long");
  assert.equal((await send({ chat_id: DEV, text: "x", message_thread_id: 99 })).description, "Bad Request: message thread not found");
  assert.deepEqual(sim.sent(), []);
  const ok = await send({ chat_id: String(DEV), text: "x".repeat(4096), message_thread_id: 3 });
  assert.equal(ok.result.message_thread_id, 3);
  assert.equal(sim.sent(`${DEV}/3`).length, 1);
  sim.failNextSend({ retryAfter: 5 });
  const limited = await send({ chat_id: DEV, text: "x" });
  assert.deepEqual([limited.error_code, limited.description, limited.parameters], [429, "Too Many Requests: retry after 5", { retry_after: 5 }]);
  await send({ chat_id: DEV, text: "x", parse_mode: "HTML" });
  assert.match(sim.violations[0]!, /parse_mode/);
});

test("sim: standalone mode prints its base URL and token, and serves the control API", async (t) => {
  const child = spawn(process.execPath, ["test/sim/telegram.ts", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => void child.kill());
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const url = (await lines.next()).value as string;
  const token = (await lines.next()).value as string;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const injected = await fetch(`${url}/_sim/inject`, { method: "POST", body: JSON.stringify({ chat: DEV, from: alice, text: "hi" }) }).then((r) => r.json() as Promise<{ updateId: number }>);
  const updates = await fetch(`${url}/bot${token}/getUpdates`).then((r) => r.json() as Promise<Answer>);
  assert.equal(updates.result[0].update_id, injected.updateId);
  assert.equal(updates.result[0].message.text, "hi");
});

test("sim: the common send faults over /_sim/fail-send: reset, 500, stall deliver nothing; their -after twins deliver, then lose the answer", async (t) => {
  const sim = await startTelegramSim();
  t.after(() => sim.close());
  const control = (fault: string) => fetch(`${sim.url}/_sim/fail-send`, { method: "POST", body: JSON.stringify({ fault }) }).then((r) => r.json());
  const send = (text: string, signal?: AbortSignal) =>
    fetch(`${sim.url}/bot${sim.token}/sendMessage`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ chat_id: DEV, text }), signal }).then(
      async (r) => ({ status: r.status, body: await r.text() }),
      (err: Error) => ({ status: 0, body: err.name }),
    );
  for (const fault of ["reset", "500", "stall", "reset-after", "500-after", "stall-after"]) {
    assert.deepEqual(await control(fault), { queued: 1 });
    const ac = new AbortController();
    const answered = send(fault, ac.signal);
    if (fault.startsWith("stall")) {
      // No answer comes: the client gives up once the sim did (or did not do) the send.
      if (fault === "stall-after") await sim.waitForSent(String(DEV), sim.sent().length + 1);
      else await new Promise((r) => sim.state.once("fault", r));
      ac.abort();
    }
    const r = await answered;
    assert.ok(fault.startsWith("500") ? r.status === 500 && r.body.includes('"error_code":500') : r.status === 0, `${fault}: ${r.status} ${r.body}`);
  }
  assert.deepEqual(sim.sent().map((m) => m.text), ["reset-after", "500-after", "stall-after"]);
  assert.deepEqual(sim.violations, []);
});
