// The world of the OneBot 11 CLI tests: a real Prosody with alice in a room, the OneBot 11
// simulator (NapCat flavor, no HTTP API: actions on the socket) and `pollbridge run` as a child
// process over a forward or a reverse WebSocket.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort, startProsody } from "../../../helpers/prosody.ts";
import { XmppUser } from "../../../helpers/xmpp-user.ts";
import { startOnebot11Sim, type Onebot11Sim, type Onebot11SimOptions } from "../../../sim/onebot11.ts";
import { spawnPollbridge, testPasswords, xmppSection, type BridgeProcess } from "../../../e2e/world.ts";

export const GROUP = 123456;

export interface CliWorld {
  sim: Onebot11Sim;
  alice: XmppUser;
  room: string;
  metricsUrl: string;
  passwords: { bridge: string; alice: string };
  spawn(): BridgeProcess;
  /** Polls /healthz (the process's only outside view of itself) until it answers 200. */
  healthy(timeoutMs?: number): Promise<void>;
  /** Polls /metrics until the outbox is empty: every send was answered and committed. */
  drained(timeoutMs?: number): Promise<void>;
  /** What the bridge said in the room, in order. */
  relayed(): string[];
}

async function poll(what: string, timeoutMs: number, check: () => Promise<string | true>): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < until) {
    try {
      const r = await check();
      if (r === true) return;
      last = r;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100)); // polling an outside view, not synchronising on time
  }
  throw new Error(`${what} within ${timeoutMs} ms; last: ${last}`);
}

export async function cliWorld(t: TestContext, transport: "ws" | "ws-reverse", simOpts: Onebot11SimOptions = {}): Promise<CliWorld> {
  const passwords = testPasswords();
  const prosody = await startProsody({ users: passwords });
  t.after(() => prosody.stop());
  const sim = await startOnebot11Sim({ flavor: "napcat", heartbeatMs: 500, groups: [{ id: GROUP }], ...simOpts });
  t.after(() => sim.close());
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-ob11-cli-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const room = `ob@${prosody.muc}`;
  const [metricsPort, reversePort] = [await freePort(), await freePort()];
  const network =
    transport === "ws"
      ? `  ob: { type: onebot11, events: ws, ws: "${sim.wsUrl}", access_token: "\${OB_TOKEN}" }`
      : `  ob: { type: onebot11, events: ws-reverse, ws_reverse: { listen: "127.0.0.1:${reversePort}" }, access_token: "\${OB_TOKEN}" }`;
  const config = join(dir, "pollbridge.yaml");
  await writeFile(
    config,
    [
      "state_dir: ./state",
      "log: { level: debug }",
      `metrics: { listen: "127.0.0.1:${metricsPort}" }`,
      ...xmppSection(prosody, "relay"),
      "networks:",
      network,
      "bridges:",
      `  - xmpp: ${room}`,
      `    ob: ${GROUP}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, OB_TOKEN: sim.token ?? "", POLLBRIDGE_CONFIG: "" };
  const alice = await XmppUser.connect(prosody, "alice", passwords.alice);
  t.after(() => alice.stop());
  await alice.join(room, "alice");
  if (transport === "ws-reverse") sim.connectReverse({ url: `ws://127.0.0.1:${reversePort}`, reconnectMs: 100 });
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  return {
    sim,
    alice,
    room,
    metricsUrl,
    passwords,
    spawn: () => spawnPollbridge(t, ["run", "-c", config], env),
    healthy: (timeoutMs = 30_000) =>
      poll("/healthz not 200", timeoutMs, async () => {
        const res = await fetch(`${metricsUrl}/healthz`);
        const body = await res.text();
        return res.status === 200 ? true : `${res.status} ${body}`;
      }),
    drained: (timeoutMs = 30_000) =>
      poll("the outbox did not drain", timeoutMs, async () => {
        const text = await (await fetch(`${metricsUrl}/metrics`)).text();
        return /^pollbridge_outbox_depth 0$/m.test(text) ? true : "outbox not empty";
      }),
    relayed: () => alice.messages.filter((m) => m.nick === "relay").map((m) => m.body),
  };
}
