// Events over the webhook: the Ed25519 key from the secret (the docs' test vector), the op 13
// validation, signatures checked on every request (a bad one: 401, logged without the body),
// op 12 only after the sink took the event, and a redelivered event id stored once.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { signHex, webhookKeys, verifySignature } from "../../../../bridge/networks/qqbot/sign.ts";
import { signedHeaders } from "../../../sim/qqbot.ts";
import type { InboundMessage } from "../../../../bridge/network.ts";
import { alice, assertCleanRun, CH, echoes, GROUP_OPENID, harness, Inbox, others, startOnline, type Harness, type QqbotAdapter } from "./harness.ts";

const T = { timeout: 30_000 };

test("the Ed25519 key from the secret signs the docs' op 13 test vector exactly (event-emit.md)", () => {
  const keys = webhookKeys("DG5g3B4j9X2KOErG");
  const sig = signHex(keys, "1725442341" + "Arq0D5A61EgUu4OxUvOp");
  assert.equal(sig, "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e85205028a1132afe09280305f13aa6909ffc2d652c706");
  assert.equal(verifySignature(keys, sig, "1725442341", Buffer.from("Arq0D5A61EgUu4OxUvOp")), true);
  assert.equal(verifySignature(keys, sig, "1725442342", Buffer.from("Arq0D5A61EgUu4OxUvOp")), false);
  assert.equal(verifySignature(keys, sig.slice(2), "1725442341", Buffer.from("Arq0D5A61EgUu4OxUvOp")), false);
  assert.equal(verifySignature(keys, `${sig.slice(0, 126)}ff`, "1725442341", Buffer.from("Arq0D5A61EgUu4OxUvOp")), false, "sig[63] & 224 set");
  // A secret longer than 32 bytes uses its first 32; a short one is repeated.
  assert.notEqual(signHex(webhookKeys("x".repeat(40)), "m"), signHex(webhookKeys("y".repeat(40)), "m"));
  assert.equal(signHex(webhookKeys("ab"), "m"), signHex(webhookKeys("ab".repeat(16)), "m"));
});

/** The webhook listener's base URL, from the adapter's log line. */
function webhookUrl(h: Harness): string {
  for (const l of h.logs) {
    const o = JSON.parse(l) as { msg?: string; url?: string };
    if (o.msg === "qqbot: webhook listening" && o.url) return o.url;
  }
  throw new Error("no webhook listening line");
}

async function webhookRun(t: TestContext, sink?: (m: InboundMessage) => Promise<void>): Promise<{ h: Harness; adapter: QqbotAdapter; inbox: Inbox; url: string }> {
  const h = await harness(t);
  const adapter = h.adapter({}, { events: "webhook", webhook: { listen: "127.0.0.1:0", path: "/qq/callback" } });
  let inbox: Inbox;
  if (sink) {
    inbox = new Inbox();
    const online = new Promise<void>((r) => adapter.onStatus!((s) => s.ok && r()));
    await adapter.start(sink);
    await online;
  } else inbox = (await startOnline(adapter)).inbox;
  const url = `${webhookUrl(h)}/qq/callback`;
  h.sim.webhook.url = url;
  return { h, adapter, inbox, url };
}

test("webhook: the op 13 validation is answered with a valid signature; events arrive and are acknowledged with op 12", T, async (t) => {
  const { h, adapter, inbox } = await webhookRun(t);
  const v = await h.sim.webhook.validate();
  assert.equal(v.ok, true, JSON.stringify(v));
  h.sim.sayInChannel("1001", alice, "over the webhook");
  h.sim.sayInGroup(GROUP_OPENID, "M1", "group over the webhook");
  const got = await others(inbox, 2);
  assert.deepEqual(got.map((m) => m.text), ["over the webhook", "group over the webhook"]);
  // A webhook bot needs no gateway socket to send; its own channel send comes back as an own event.
  const { id } = await adapter.send(CH, "answer");
  const [echo] = await echoes(inbox, 1);
  assert.deepEqual([echo!.id, echo!.own, echo!.text], [id, true, "answer"]);
  const acked = await Promise.all([...h.sim.webhook.deliveries.keys()].map((id) => h.sim.webhook.waitDelivered(id)));
  assert.ok(acked.length >= 2 && acked.every((d) => d.acked && d.attempts === 1 && JSON.parse(d.body).op === 12));
  assertCleanRun(h);
});

test("webhook: a bad, missing or foreign signature gets 401 (op 13 too) and is logged without the body; nothing reaches the sink", T, async (t) => {
  const { h, inbox, url } = await webhookRun(t);
  const marker = "SECRET-BODY-MARKER";
  const body = JSON.stringify({ op: 0, id: "E1", t: "MESSAGE_CREATE", d: { id: "m1", channel_id: "1001", content: marker, author: { id: "1" } } });
  const good = signedHeaders(h.sim.secret, body);
  const cases: Record<string, string>[] = [
    { ...good, "x-signature-ed25519": good["x-signature-ed25519"]!.replace(/^../, "00") },
    { "content-type": "application/json" },
    signedHeaders("another-secret-entirely", body),
    { ...good, "x-signature-timestamp": "1" },
  ];
  for (const headers of cases) {
    const r = await fetch(url, { method: "POST", body, headers });
    assert.equal(r.status, 401);
  }
  const op13 = JSON.stringify({ op: 13, d: { plain_token: marker, event_ts: "1" } });
  assert.equal((await fetch(url, { method: "POST", body: op13, headers: { ...signedHeaders(h.sim.secret, op13), "x-signature-ed25519": "ab".repeat(64) } })).status, 401);
  // The same body, correctly signed, is taken.
  const ok = await fetch(url, { method: "POST", body, headers: good });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { op: 12, d: 0 });
  await inbox.waitFor(1);
  assert.equal(inbox.messages.length, 1);
  assert.ok(h.logs.some((l) => l.includes("bad Ed25519 signature")));
  assert.ok(!h.logs.some((l) => l.includes(marker)), "a refused body was logged");
  assertCleanRun(h);
});

test("webhook: op 12 only after the sink resolved (a redelivery meanwhile waits for the same store); a failing sink is retried before the answer; a later redelivery is acknowledged, not stored again", T, async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const stored = [] as InboundMessage[];
  let refuse = 1;
  const { h, url } = await webhookRun(t, async (m) => {
    if (m.text === "slow") await gate;
    if (m.text === "refused once" && refuse-- > 0) throw new Error("outbox unavailable");
    stored.push(m);
  });
  h.sim.sayInChannel("1001", alice, "slow");
  const id = await h.sim.state.waitFor(() => [...h.sim.webhook.deliveries.keys()][0], ["published", "webhook-attempt"]);
  // The platform, tired of waiting, pushes the same event again while the first is being stored.
  const body = JSON.stringify({ op: 0, id, t: "MESSAGE_CREATE", d: { id: "other", channel_id: "1001", content: "slow", author: { id: alice.id } } });
  const redelivery = fetch(url, { method: "POST", body, headers: signedHeaders(h.sim.secret, body) });
  await new Promise((r) => setImmediate(r));
  assert.equal(h.sim.webhook.deliveries.get(id)!.acked, false, "acknowledged before the sink resolved");
  assert.equal(stored.length, 0);
  release();
  assert.equal((await h.sim.webhook.waitDelivered(id)).acked, true);
  assert.equal((await redelivery).status, 200);

  h.sim.sayInChannel("1001", alice, "refused once");
  const id2 = await h.sim.state.waitFor(() => [...h.sim.webhook.deliveries.keys()][1], ["published", "webhook-attempt"]);
  const d2 = await h.sim.webhook.waitDelivered(id2);
  assert.deepEqual([d2.acked, d2.attempts], [true, 1]);

  // Pushed again later: acknowledged, not stored twice.
  const again = JSON.stringify({ op: 0, id: id2, t: "MESSAGE_CREATE", d: { id: "whatever", channel_id: "1001", content: "x", author: { id: "9" } } });
  assert.equal((await fetch(url, { method: "POST", body: again, headers: signedHeaders(h.sim.secret, again) })).status, 200);
  h.sim.sayInChannel("1001", alice, "sentinel");
  await h.sim.state.waitFor(() => (stored.some((m) => m.text === "sentinel") ? true : undefined), ["webhook-delivered"]);
  assert.deepEqual(stored.filter((m) => !m.own).map((m) => m.text), ["slow", "refused once", "sentinel"]);
  assert.deepEqual(h.sim.violations, []);
});
