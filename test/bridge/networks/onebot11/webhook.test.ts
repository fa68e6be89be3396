import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../../../bridge/config/load.ts";
import { signature } from "../../../sim/onebot11.ts";
import { freePort } from "../../../helpers/prosody.ts";
import { assertCleanRun, GROUP, harness, Inbox, waitForStatus } from "./harness.ts";

async function webhookHarness(t: Parameters<typeof harness>[0], opts: { secret?: string; simSecret?: string; hexCase?: "lower" | "upper"; flavor?: "go-cqhttp" | "lagrange"; timeoutMs?: number } = {}) {
  const port = await freePort();
  const h = await harness(t, {
    flavor: opts.flavor,
    webhook: { url: `http://127.0.0.1:${port}/ob`, secret: opts.simSecret, hexCase: opts.hexCase, retries: 3, timeoutMs: opts.timeoutMs },
  });
  const config = { events: "webhook" as const, webhook: { listen: `127.0.0.1:${port}`, path: "/ob", ...(opts.secret === undefined ? {} : { secret: opts.secret }) } };
  return { h, config, url: `http://127.0.0.1:${port}/ob` };
}

test("webhook: signed events (go-cqhttp lowercase hex, Lagrange UPPER-case) are delivered in order and answered 204 with no body", { timeout: 10_000 }, async (t) => {
  for (const [flavor, hexCase] of [["go-cqhttp", "lower"], ["lagrange", "upper"]] as const) {
    const { h, config } = await webhookHarness(t, { secret: "hook-secret-789", simSecret: "hook-secret-789", hexCase, flavor });
    const { adapter, inbox } = await h.run(config);
    h.sim.heartbeat();
    h.sim.inject({ group: GROUP, sender: { nickname: "alice", card: "Alice" }, message: "one" });
    h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "two" });
    assert.deepEqual((await inbox.waitFor(2)).map((m) => m.text), ["one", "two"]);
    const posts = await h.sim.waitForWebhookPosts(3);
    assert.deepEqual(posts.map((p) => p.attempts), [[204], [204], [204]]);
    assertCleanRun(h, [...h.sim.secrets, "hook-secret-789"]);
    await adapter.stop();
  }
});

test("webhook: a wrong or missing signature is refused (403/401) and nothing is delivered; a malformed body is 400", { timeout: 10_000 }, async (t) => {
  const { h, config, url } = await webhookHarness(t, { secret: "right-secret", simSecret: "wrong-secret" });
  const { inbox } = await h.run(config);
  h.sim.inject({ group: GROUP, sender: { nickname: "mallory" }, message: "forged" });
  const [post] = await h.sim.waitForWebhookPosts(1);
  assert.deepEqual(post!.attempts, [403, 403, 403, 403]);
  const body = JSON.stringify({ post_type: "message", message_type: "group", group_id: GROUP, user_id: 5, message_id: 9, message: "unsigned" });
  assert.equal((await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } })).status, 401);
  const bad = "{not json";
  const signed = { "content-type": "application/json", "x-signature": signature("right-secret", bad) };
  assert.equal((await fetch(url, { method: "POST", body: bad, headers: signed })).status, 400);
  assert.equal((await fetch(url, { method: "GET" })).status, 405);
  assert.equal(inbox.messages.length, 0);
  assert.ok(h.logs.some((l) => l.includes("wrong X-Signature")));
  assertCleanRun(h, [...h.sim.secrets, "right-secret"]);
});

test("webhook: 204 only after the sink took the event; the reporter's retries (timeouts) are not delivered twice", { timeout: 10_000 }, async (t) => {
  const { h, config } = await webhookHarness(t, { timeoutMs: 30 });
  const inbox = new Inbox();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let calls = 0;
  const a = h.adapter(config);
  const online = waitForStatus(a, "online");
  await a.start(async (m) => {
    calls++;
    await released; // the outbox is slow: the reporter times out and posts again
    await inbox.sink(m);
  });
  await online;
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "slow" });
  await h.sim.state.waitFor(() => (h.sim.state.counters.webhookPosts >= 3 ? true : undefined), ["webhook-attempt"]);
  release();
  await inbox.waitFor(1);
  // Posted again after the sink took it (the last retry): answered 204, not delivered again.
  h.sim.injectEvent({ ...(h.sim.state.queue.at(-1) as Record<string, unknown>) });
  const posts = await h.sim.waitForWebhookPosts(2);
  assert.ok(posts[0]!.attempts.includes("timeout"));
  assert.equal(posts[1]!.attempts.at(-1), 204);
  assert.equal(calls, 1);
  assert.deepEqual(inbox.messages.map((m) => m.text), ["slow"]);
  assertCleanRun(h);
});

test("webhook: a failing sink is retried within the request; stop() while the sink is stuck answers 503 so the reporter keeps the event", { timeout: 10_000 }, async (t) => {
  const { h, config } = await webhookHarness(t);
  const { adapter, inbox } = await h.run(config);
  inbox.failNext = 2;
  h.sim.inject({ group: GROUP, sender: { nickname: "alice" }, message: "retried" });
  await inbox.waitFor(1);
  assert.deepEqual((await h.sim.waitForWebhookPosts(1))[0]!.attempts, [204]);

  const stuck = h.adapter(config);
  await adapter.stop();
  let reached!: () => void;
  const inSink = new Promise<void>((r) => (reached = r));
  await stuck.start(async () => {
    reached();
    await new Promise(() => undefined);
  });
  h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "kept" });
  await inSink;
  await stuck.stop();
  const kept = (await h.sim.waitForWebhookPosts(2))[1]!;
  assert.equal(kept.attempts[0], 503);
  assert.equal(kept.accepted, false);
  assertCleanRun(h);
});

test("webhook mode needs webhook.listen; a port in use fails start() with a clear error", { timeout: 10_000 }, async (t) => {
  const { h, config } = await webhookHarness(t);
  assert.throws(() => h.adapter({ events: "webhook", webhook: undefined }), { message: "networks.ob.webhook.listen is required when events is webhook" });
  assert.throws(() => h.adapter({ events: "webhook", webhook: { listen: "" } }), { message: "networks.ob.webhook.listen is required when events is webhook" });
  await h.run(config);
  const second = h.adapter(config);
  await assert.rejects(second.start(async () => {}), /cannot listen on 127\.0\.0\.1:\d+/);
});

test("webhook hardening: a blank secret is a config problem and the adapter refuses it; beyond loopback a secret is required unless insecure_no_secret; a body over max_body is 413", { timeout: 10_000 }, async (t) => {
  const yaml = (webhook: string, env: Record<string, string> = {}) =>
    parseConfig(
      [
        "xmpp: { jid: b@example.org, password: pw }",
        "networks:",
        `  ob: { type: onebot11, api: "http://127.0.0.1:5700", events: webhook, webhook: ${webhook} }`,
        "bridges: [{ xmpp: r@conference.example.org, ob: 1 }]",
      ].join("\n"),
      { path: "/tmp/pollbridge.yaml", env },
    );
  const blank = yaml('{ listen: "127.0.0.1:5701", secret: "${HOOK_SECRET}" }', { HOOK_SECRET: "" });
  assert.ok(blank.problems.some((p) => p.path === "networks.ob.webhook.secret"), JSON.stringify(blank.problems));
  const open = yaml('{ listen: "0.0.0.0:5701" }');
  assert.ok(open.problems.some((p) => p.path === "networks.ob.webhook.secret" && /beyond loopback/.test(p.message)), JSON.stringify(open.problems));
  assert.deepEqual(yaml('{ listen: "0.0.0.0:5701", insecure_no_secret: true }').problems, []);
  assert.deepEqual(yaml('{ listen: "127.0.0.1:5701" }').problems, []);
  assert.deepEqual(yaml('{ listen: "0.0.0.0:5701", secret: s3cr3t }').problems, []);

  const { h, config, url } = await webhookHarness(t);
  // A forged, unsigned POST never meets a blank secret: the adapter will not start with one.
  assert.throws(() => h.adapter({ ...config, webhook: { ...config.webhook, secret: "" } }), /webhook\.secret is empty/);
  const { inbox } = await h.run({ ...config, webhook: { ...config.webhook, max_body: 1024 } });
  const big = JSON.stringify({ post_type: "message", message_type: "group", group_id: GROUP, user_id: 5, message_id: 9, message: "x".repeat(2048) });
  assert.equal((await fetch(url, { method: "POST", body: big, headers: { "content-type": "application/json" } })).status, 413);
  assert.equal(inbox.messages.length, 0);
});
