// The end-to-end world: a real Prosody, the WebQQ simulator, and `pollbridge run` as a child
// process reading a YAML config, exactly as a user runs it.
//
//   const w = await startWorld(t);            // Prosody + simulator + config; cleaned up after t
//   const bridge = w.spawnBridge();           // node bridge/cli/main.ts run -c <file>
//   await w.bridgeReady();                    // QQ logged in and the bridge's occupant in the room
//   w.sim.inject(...); await w.alice.waitFor(...)
//   bridge.kill("SIGKILL"); await bridge.exited;
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort, startProsody, type ProsodyServer } from "../helpers/prosody.ts";
import { XmppUser } from "../helpers/xmpp-user.ts";
import { startWebqqSim, type WebqqSim } from "../sim/webqq.ts";

const MAIN = new URL("../../bridge/cli/main.ts", import.meta.url).pathname;
export const GROUP = "Dev Group";
export const MEMBER = { name: "xiaoming", card: "小明" };

export interface BridgeProcess {
  child: ChildProcess;
  /** Everything the process wrote to stderr (its log, JSON lines) and stdout. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface World {
  prosody: ProsodyServer;
  sim: WebqqSim;
  room: string;
  dir: string;
  configPath: string;
  metricsUrl: string;
  passwords: { bridge: string; alice: string };
  env: NodeJS.ProcessEnv;
  alice: XmppUser;
  /** Connect alice again (after a Prosody restart her session is gone). */
  reconnectAlice(): Promise<XmppUser>;
  spawnBridge(): BridgeProcess;
  /** Resolves when the bridge's occupant (nick "qq") is present in the room, seen by alice. */
  bridgeInRoom(): Promise<void>;
  /** Polls /healthz until it answers `status` (the process's only outside view of itself). */
  health(status: number, timeoutMs?: number): Promise<unknown>;
  /** Resolves when the simulator saw a poll2 after the current one: the client re-armed, so it acked. */
  nextPoll(): Promise<void>;
  /** Every log line of every bridge run so far. */
  logs(): string;
}

/** Fresh random passwords for the bridge's XMPP account and alice: a test can look for them in the logs. */
export function testPasswords(): { bridge: string; alice: string } {
  return { bridge: `pw-${randomBytes(9).toString("hex")}`, alice: `pw-${randomBytes(9).toString("hex")}` };
}

/**
 * The `xmpp:` section of a test config: the bridge's account on this Prosody, its password from
 * `${XMPP_PASSWORD}`, PLAIN (no SCRAM rounds in tests). `extra`: more lines of the section.
 */
export function xmppSection(prosody: ProsodyServer, nick: string, extra: string[] = []): string[] {
  return ["xmpp:", `  jid: bridge@${prosody.domain}`, "  password: ${XMPP_PASSWORD}", `  service: ${prosody.service}`, `  nick: ${nick}`, "  sasl_mechanism: PLAIN", ...extra.map((l) => `  ${l}`)];
}

/** The XMPP side of a CLI test: a real Prosody with the bridge's account and alice, and a temp dir; gone after t. */
export async function xmppSide(t: TestContext, prefix: string): Promise<{ prosody: ProsodyServer; passwords: { bridge: string; alice: string }; dir: string }> {
  const passwords = testPasswords();
  const prosody = await startProsody({ users: passwords });
  t.after(() => prosody.stop());
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { prosody, passwords, dir };
}

/** Writes pollbridge.yaml into `dir` (mode 0600: a config may hold secrets); returns its path. */
export async function writeConfig(dir: string, lines: string[]): Promise<string> {
  const path = join(dir, "pollbridge.yaml");
  await writeFile(path, [...lines, ""].join("\n"), { mode: 0o600 });
  return path;
}

/** alice connected and in `room` (as "alice"), stopped after t. */
export async function aliceIn(t: TestContext, prosody: ProsodyServer, password: string, room: string): Promise<XmppUser> {
  const alice = await XmppUser.connect(prosody, "alice", password);
  t.after(() => alice.stop().catch(() => undefined));
  await alice.join(room, "alice");
  return alice;
}

/** `node bridge/cli/main.ts ARGS` as a child process, killed after the test if still running. */
export function spawnPollbridge(t: TestContext, args: string[], env: NodeJS.ProcessEnv): BridgeProcess {
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, output: () => out, exited };
}

export async function startWorld(t: TestContext, opts: { holdMs?: number } = {}): Promise<World> {
  const { prosody, passwords, dir } = await xmppSide(t, "pollbridge-e2e-");
  const sim = await startWebqqSim({ autoScan: 1, holdMs: opts.holdMs ?? 3_000, groups: [{ name: GROUP, members: [MEMBER] }] });
  t.after(() => sim.close());
  const room = `dev@${prosody.muc}`;
  const metricsPort = await freePort();
  const configPath = await writeConfig(dir, [
    `state_dir: ./state`,
    `log: { level: debug }`,
    `metrics: { listen: "127.0.0.1:${metricsPort}" }`,
    ...xmppSection(prosody, "qq", ["self_ping_interval: 2000"]),
    `networks:`,
    `  qq:`,
    `    type: webqq`,
    `    endpoints: { ptlogin: "${sim.url}", ui: "${sim.url}", s: "${sim.url}", d1: "${sim.url}" }`,
    `    poll_hold: ${opts.holdMs ?? 3_000}`,
    `    send_interval: 50`,
    `relay: { drain_timeout: 5000 }`,
    `bridges:`,
    `  - xmpp: ${room}`,
    `    qq: "${GROUP}"`,
  ]);
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, POLLBRIDGE_CONFIG: "" };

  const runs: BridgeProcess[] = [];
  let spawnMark = 0;
  const connectAlice = async () => {
    const user = await XmppUser.connect(prosody, "alice", passwords.alice);
    await user.join(room, "alice");
    return user;
  };
  const world: World = {
    prosody, sim, room, dir, configPath, passwords, env,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    alice: await connectAlice(),
    async reconnectAlice() {
      await world.alice.stop().catch(() => undefined);
      world.alice = await connectAlice();
      spawnMark = 0;
      return world.alice;
    },
    spawnBridge() {
      spawnMark = world.alice.stanzas.length;
      const proc = spawnPollbridge(t, ["run", "-c", configPath], env);
      runs.push(proc);
      return proc;
    },
    async bridgeInRoom() {
      const alice = world.alice;
      const mark = spawnMark;
      await alice.waitForStanza((s) => s.is("presence") && s.attrs.from === `${room}/qq` && s.attrs.type !== "unavailable", { timeout: 30_000, from: mark });
    },
    async health(status, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      let last = "no answer";
      while (Date.now() < until) {
        try {
          const res = await fetch(`${world.metricsUrl}/healthz`);
          const body = await res.json();
          if (res.status === status) return body;
          last = `${res.status} ${JSON.stringify(body)}`;
        } catch (err) {
          last = (err as Error).message;
        }
        await new Promise((r) => setTimeout(r, 100)); // polling an outside view, not synchronising on time
      }
      throw new Error(`/healthz did not answer ${status} within ${timeoutMs} ms; last: ${last}`);
    },
    async nextPoll() {
      const seen = sim.state.counters.polls;
      await sim.state.waitFor(() => (sim.state.counters.polls > seen ? true : undefined), ["poll"], AbortSignal.timeout(30_000));
    },
    logs: () => runs.map((r) => r.output()).join("\n"),
  };
  t.after(() => world.alice.stop().catch(() => undefined));
  return world;
}
