// OneBot 11 over WebSocket, each behaviour through both transports: forward (`events: ws`, the
// bridge connects) and reverse (`events: ws-reverse`, the simulated implementation connects).
// Waits are on events (status changes, messages, sockets), never on the clock.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import type { NetworkAdapter } from "../../../../bridge/network.ts";
import { marksPath } from "../../../../bridge/networks/onebot11/marks.ts";
import { freePort } from "../../../helpers/prosody.ts";
import type { Onebot11SimOptions } from "../../../sim/onebot11.ts";
import { assertCleanRun, GROUP, harness, Inbox, sendError, waitForStatus, type Harness } from "./harness.ts";

type Transport = "ws" | "ws-reverse";
const TRANSPORTS: Transport[] = ["ws", "ws-reverse"];

interface WsRun {
  h: Harness;
  adapter: NetworkAdapter;
  inbox: Inbox;
  /** Starts another adapter on the same state dir and simulator (a restart). */
  restart(): Promise<{ adapter: NetworkAdapter; inbox: Inbox }>;
}

const texts = (inbox: Inbox): string[] => inbox.messages.filter((m) => !m.own).map((m) => m.text);

async function wsRun(t: TestContext, transport: Transport, simOpts: Onebot11SimOptions = {}, extra: Record<string, unknown> = {}): Promise<WsRun> {
  const h = await harness(t, { flavor: "napcat", heartbeatMs: 40, ...simOpts });
  const port = transport === "ws-reverse" ? await freePort() : 0;
  const config = transport === "ws" ? { events: "ws" as const, ws: h.sim.wsUrl, api: undefined } : { events: "ws-reverse" as const, ws_reverse: { listen: `127.0.0.1:${port}` }, api: undefined };
  const start = async (): Promise<{ adapter: NetworkAdapter; inbox: Inbox }> => {
    const adapter = h.adapter(config, { silenceMs: 2_000, sendTimeoutMs: 500, ...extra });
    const inbox = new Inbox();
    const online = waitForStatus(adapter, "online");
    await adapter.start(inbox.sink);
    if (transport === "ws-reverse" && h.sim.openSockets === 0 && reverseStarted === false) {
      reverseStarted = true;
      h.sim.connectReverse({ url: `ws://127.0.0.1:${port}`, reconnectMs: 20 });
    }
    await online;
    return { adapter, inbox };
  };
  let reverseStarted = false;
  const first = await start();
  return { h, ...first, restart: start };
}

/** Says `text` in the group and waits until the adapter handed it over (a sentinel for "exactly once" counts). */
async function sentinel(r: { h: Harness; inbox: Inbox }, text: string): Promise<void> {
  r.h.sim.inject({ group: GROUP, sender: { nickname: "carol" }, message: text });
  while (!r.inbox.messages.some((m) => m.text === text)) await r.inbox.waitFor(r.inbox.messages.length + 1);
}

for (const transport of TRANSPORTS) {
  test(`${transport}: both directions exactly once; own echoes carry the send's id; actions on the socket`, { timeout: 15_000 }, async (t) => {
    const { h, adapter, inbox } = await wsRun(t, transport, { echoOwn: true });
    assert.match(adapter.status().detail ?? "", /NapCat/); // the profile, in /healthz detail
    for (const text of ["one", "two", "three"]) h.sim.inject({ group: GROUP, sender: { nickname: "alice", card: "Alice" }, message: text });
    const a = await adapter.send(String(GROUP), "from xmpp 1");
    const b = await adapter.send(String(GROUP), "from xmpp 2");
    await sentinel({ h, inbox }, "end");
    assert.deepEqual(texts(inbox), ["one", "two", "three", "end"]);
    assert.deepEqual(inbox.messages.filter((m) => m.own).map((m) => [m.id, m.text]), [[a.id, "from xmpp 1"], [b.id, "from xmpp 2"]]);
    assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["from xmpp 1", "from xmpp 2"]);
    assert.equal(inbox.messages.find((m) => m.text === "one")!.senderName, "Alice");
    assert.deepEqual(adapter.evidence, { echo: true, history: true });
    assert.equal(h.sim.state.counters.calls > 0, true);
    assertCleanRun(h);
  });

  test(`${transport}: a socket dropped mid-stream (no close frame); what was said meanwhile is caught up from history once, in order, before what comes live`, { timeout: 15_000 }, async (t) => {
    const { h, adapter, inbox } = await wsRun(t, transport);
    await sentinel({ h, inbox }, "a");
    const down = waitForStatus(adapter, "reconnecting", true);
    h.sim.dropSockets();
    // Said while no socket is open: the implementation queues nothing, only its history has them.
    h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "b" });
    h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "c" });
    await down;
    await waitForStatus(adapter, "online", true);
    await sentinel({ h, inbox }, "d");
    assert.deepEqual(texts(inbox), ["a", "b", "c", "d"]);
    assert.equal(new Set(inbox.messages.map((m) => m.id)).size, inbox.messages.length);
    assertCleanRun(h);
  });

  test(`${transport}: a silent socket (no heartbeat for 3 intervals) is found dead and replaced`, { timeout: 15_000 }, async (t) => {
    // Without heartbeats the limit would be a minute (the test would time out): the interval they announce sets it.
    const { h, adapter, inbox } = await wsRun(t, transport, {}, { silenceMs: 60_000 });
    await once(h.sim.state, "ws-heartbeat");
    const down = waitForStatus(adapter, "reconnecting", true);
    h.sim.setSilent(true);
    h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "said while silent" });
    assert.match((await down).detail ?? "", /silent/);
    h.sim.setSilent(false);
    await waitForStatus(adapter, "online", true);
    await sentinel({ h, inbox }, "after");
    assert.deepEqual(texts(inbox), ["said while silent", "after"]);
    assert.ok(h.logs.some((l) => l.includes("went silent")));
    // The dead socket was dropped on our side, not left waiting for a closing handshake.
    while (h.sim.openSockets > 1) await once(h.sim.state, "ws-close");
    assertCleanRun(h);
  });

  test(`${transport}: a send whose answer never comes is 'unknown', and its echo reaches the sink as own with the right id; nothing sent twice`, { timeout: 15_000 }, async (t) => {
    const { h, adapter, inbox } = await wsRun(t, transport, { echoOwn: true });
    h.sim.failNext("send_group_msg", "stall-after"); // delivered, answer lost
    await sendError(adapter.send(String(GROUP), "lost answer"), "unknown");
    const [sent] = h.sim.sent(GROUP);
    await sentinel({ h, inbox }, "end");
    const echo = inbox.messages.find((m) => m.own);
    assert.deepEqual([echo?.id, echo?.text], [`${GROUP}:${sent!.messageId}`, "lost answer"]);
    h.sim.failNext("send_group_msg", "stall"); // not delivered, no answer either: also unknown (the relay settles it)
    await sendError(adapter.send(String(GROUP), "never ran"), "unknown");
    h.sim.failNext("send_group_msg", "reset-after"); // delivered, the socket dropped before the answer
    await sendError(adapter.send(String(GROUP), "reset after"), "unknown");
    assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["lost answer", "reset after"]);
    // The relay's findSent sees it in history (the evidence when echoes are off).
    await waitForStatus(adapter, "online");
    const found = await adapter.findSent!(String(GROUP), "reset after", new Date(Date.now() - 60_000));
    assert.equal(found?.id, `${GROUP}:${h.sim.sent(GROUP)[1]!.messageId}`);
    assert.equal(await adapter.findSent!(String(GROUP), "never ran", new Date(Date.now() - 60_000)), null);
    assertCleanRun(h);
  });

  test(`${transport}: restart with messages said while down: caught up once from the mark kept in state_dir`, { timeout: 15_000 }, async (t) => {
    const run = await wsRun(t, transport);
    await sentinel(run, "before");
    await run.adapter.stop();
    const mark = JSON.parse(await readFile(marksPath(run.h.stateDir, "ob"), "utf8")) as { groups: Record<string, { id: string }> };
    assert.ok(mark.groups[String(GROUP)], "the mark survives the process");
    run.h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "while down 1" });
    run.h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "while down 2" });
    const again = await run.restart();
    await sentinel({ h: run.h, inbox: again.inbox }, "after");
    assert.deepEqual(texts(again.inbox), ["while down 1", "while down 2", "after"]);
    assertCleanRun(run.h);
  });
}

test("ws: a wrong token refused with a 1403 frame (NapCat) and at the upgrade (go-cqhttp 403): auth-failed, a long wait, no storm", { timeout: 15_000 }, async (t) => {
  for (const flavor of ["napcat", "go-cqhttp"] as const) {
    const h = await harness(t, { flavor, token: "right-token" });
    const adapter = h.adapter({ events: "ws", ws: h.sim.wsUrl, api: undefined, access_token: "wrong-token" }, { retry: { minTimeout: 5, maxTimeout: 40, maxRetryAfter: 60_000 } });
    const failed = waitForStatus(adapter, "auth-failed");
    await adapter.start(async () => {});
    assert.match((await failed).detail ?? "", flavor === "napcat" ? /1403/ : /HTTP 403/);
    assert.equal(h.sim.state.counters.authFailures, flavor === "napcat" ? 1 : 2); // go-cqhttp: the connect and one probe of the status
    assert.ok(!h.logs.join("").includes("wrong-token") && !h.logs.join("").includes("right-token"));
    await adapter.stop();
  }
});

test("ws-reverse: missing token 401, wrong token 403 at the upgrade; Bearer, Token (go-cqhttp) and ?access_token accepted; API + Event pair works", { timeout: 15_000 }, async (t) => {
  const h = await harness(t, { flavor: "lagrange", token: "s3cret-token", heartbeatMs: 40 });
  const port = await freePort();
  const adapter = h.adapter({ events: "ws-reverse", ws_reverse: { listen: `127.0.0.1:${port}` }, api: undefined, access_token: "s3cret-token" });
  const inbox = new Inbox();
  await adapter.start(inbox.sink);
  const url = `ws://127.0.0.1:${port}`;
  const refusedOnce = (authorization: string | null, u = url): Promise<number> =>
    new Promise((resolve) => {
      const c = h.sim.connectReverse({ url: u, authorization, reconnectMs: 60_000 });
      h.sim.state.once("reverse-refused", (status: number) => {
        c.stop();
        resolve(status);
      });
    });
  assert.equal(await refusedOnce(null), 401);
  assert.equal(await refusedOnce("Bearer nope"), 403);
  assert.equal(await refusedOnce("Token nope"), 403);
  const online = waitForStatus(adapter, "online");
  h.sim.connectReverse({ url, split: true, reconnectMs: 20 }); // Lagrange: an API and an Event connection
  await online;
  await sentinel({ h, inbox }, "via the pair");
  await adapter.send(String(GROUP), "out via the API socket");
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.text), ["out via the API socket"]);
  assert.ok(!h.logs.join("").includes("s3cret-token"));
  assert.deepEqual(h.sim.violations, []);
});

test("catch-up pages history as each implementation does (go-cqhttp and LLBot seq-1, NapCat message_seq = id, Lagrange message_id): 45 missed messages, once, in order", { timeout: 20_000 }, async (t) => {
  for (const flavor of ["go-cqhttp", "llbot", "napcat", "lagrange"] as const) {
    const run = await wsRun(t, "ws", { flavor, messageFormat: "array" });
    await sentinel(run, "start");
    const down = waitForStatus(run.adapter, "reconnecting", true);
    run.h.sim.dropSockets();
    const said = Array.from({ length: 45 }, (_, i) => `missed ${i}`);
    for (const text of said) run.h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: text });
    await down;
    await waitForStatus(run.adapter, "online", true);
    await sentinel(run, "end");
    assert.deepEqual(texts(run.inbox), ["start", ...said, "end"], flavor);
    assert.deepEqual(run.h.sim.violations, [], flavor);
    await run.adapter.stop();
  }
});

test("no get_group_msg_history (404/1404): a warning once, evidence.history false, live events still flow", { timeout: 10_000 }, async (t) => {
  const run = await wsRun(t, "ws", { history: false });
  await sentinel(run, "live");
  assert.equal(run.adapter.evidence.history, false);
  assert.equal(run.h.logs.filter((l) => l.includes("get_group_msg_history is not available")).length, 1);
});

test("send failures over the socket per profile: 1400 validation fatal, 1200 handler error unknown, not connected retry", { timeout: 10_000 }, async (t) => {
  const run = await wsRun(t, "ws", { flavor: "llbot" });
  run.h.sim.failNext("send_group_msg", { retcode: 1400, msg: "PARAM_ERROR" });
  await sendError(run.adapter.send(String(GROUP), "a"), "fatal");
  run.h.sim.failNext("send_group_msg", "500"); // the flavor's handler error (1200), before it ran
  await sendError(run.adapter.send(String(GROUP), "b"), "unknown");
  run.h.sim.failNext("send_group_msg", "500-after"); // 1200 after it ran
  await sendError(run.adapter.send(String(GROUP), "c"), "unknown");
  const port = await freePort(); // nothing listens there: no socket ever opens
  const away = run.h.adapter({ events: "ws", ws: `ws://127.0.0.1:${port}`, api: undefined });
  const reconnecting = waitForStatus(away, "reconnecting");
  await away.start(async () => {});
  await reconnecting;
  await sendError(away.send(String(GROUP), "d"), "retry"); // never sent
  assert.deepEqual(run.h.sim.sent(GROUP).map((m) => m.text), ["c"]);
});

test("a catch-up that fails (history answers an error) is owed: live events go on, the gap is read again and relayed once; the mark waits before it", { timeout: 15_000 }, async (t) => {
  const run = await wsRun(t, "ws");
  await sentinel(run, "a");
  const down = waitForStatus(run.adapter, "reconnecting", true);
  run.h.sim.dropSockets();
  run.h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "b" });
  run.h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "c" });
  run.h.sim.failNext("get_group_msg_history", { retcode: 1200, msg: "busy" });
  await down;
  await waitForStatus(run.adapter, "online", true);
  await sentinel(run, "d"); // live, while the gap is still owed
  while (!run.inbox.messages.some((m) => m.text === "c")) await run.inbox.waitFor(run.inbox.messages.length + 1);
  await sentinel(run, "e");
  assert.deepEqual([...texts(run.inbox)].sort(), ["a", "b", "c", "d", "e"]);
  assert.equal(texts(run.inbox).length, 5);
  assert.ok(run.h.logs.some((l) => l.includes("the gap is read again later")));
});

test("ws events with an HTTP api: actions go over HTTP, events on the socket", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { flavor: "napcat", heartbeatMs: 40, echoOwn: true });
  const { adapter, inbox } = await h.run({ events: "ws", ws: h.sim.wsUrl });
  const { id } = await adapter.send(String(GROUP), "over http");
  await sentinel({ h, inbox }, "live");
  assert.ok(h.sim.state.counters.calls > 0);
  assert.equal(h.sim.state.counters.wsCalls, 0); // every action (login, history, send) went over HTTP
  assert.equal(inbox.messages.find((m) => m.own)?.id, id);
  assert.match(adapter.status().detail ?? "", /NapCat.* over ws/);
  assertCleanRun(h);
});
