// The chaos run's world: a real Prosody, the four network simulators, a config with one bridge
// per network (its own room, so every stream is counted on its own), `pollbridge run` as a child
// process (killed with SIGKILL and started again on demand), and alice, who speaks in every room
// and records what the bridge relays there (across her reconnects after a Prosody restart).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { loadConfig } from "../../bridge/config/load.ts";
import { createNetwork } from "../../bridge/networks/registry.ts";
import { startProsody, type ProsodyServer } from "../../test/helpers/prosody.ts";
import { XmppUser, type UserMessage } from "../../test/helpers/xmpp-user.ts";
import { startOnebot11Sim, type Onebot11Sim } from "../../test/sim/onebot11.ts";
import { startOnebot12Sim, type Onebot12Sim } from "../../test/sim/onebot12.ts";
import { startTelegramSim, type TelegramSim } from "../../test/sim/telegram.ts";
import { startWebqqSim, type WebqqSim } from "../../test/sim/webqq.ts";

const MAIN = new URL("../../bridge/cli/main.ts", import.meta.url).pathname;
export const NETWORKS = ["onebot11", "onebot12", "telegram", "webqq"] as const;
export type NetworkName = (typeof NETWORKS)[number];
/** The bridge's occupant nick in every room. */
export const BRIDGE_NICK = "relay";

const TG_CHAT = -1001234567890;
const OB11_GROUP = 123456;
const OB12_GROUP = "12345";
const QQ_GROUP = "Dev Group";
const SEND_TIMEOUT_MS = 5_000;
const ECHO_WINDOW_MS = 10_000;
/**
 * poll2's hold. The client gives up a poll at hold + half: a bridge stalled that long (a synced
 * SQLite commit on a busy disk) would time out a poll whose answer is already in its socket,
 * which poll2 removed from the server. 3 s was too close.
 */
const WEBQQ_HOLD_MS = 20_000;

/** One network's side of the world: inject a group message, read what the bridge sent there. */
export interface NetworkSide {
  name: NetworkName;
  room: string;
  /** The simulator's base URL, where its /_sim/ control API is, and the headers it asks for. */
  control: string;
  controlHeaders: Record<string, string>;
  inject(text: string): void;
  /** Resolves once the bridge is logged in there (WebQQ: what is said before a login never reaches that session). */
  loggedIn(signal: AbortSignal): Promise<void>;
  sentTexts(): string[];
  /** Resolves once more than `n` messages were sent to the group. */
  waitForMore(n: number, signal: AbortSignal): Promise<void>;
}

export interface ChaosWorld {
  prosody: ProsodyServer;
  sides: Record<NetworkName, NetworkSide>;
  /** Per network, the evidence its adapter (as this build makes it from the config) offers for unconfirmed sends. */
  evidence: Record<NetworkName, { echo: boolean; history: boolean; crashGap: boolean }>;
  /** Per network, how often the bridge's log says a kill may have cost its inbound something (crashGap). */
  crashGapWarnings(): Promise<Record<NetworkName, number>>;
  dir: string;
  /** Starts `pollbridge run`; resolves once its process runs (not necessarily joined). */
  startBridge(): void;
  /** Resolves once alice saw the bridge's occupant enter every room since its last start (or her reconnect). */
  bridgeInRooms(signal: AbortSignal): Promise<void>;
  /**
   * Resolves once the bridge has caught up every room: alice says a probe in each room (after
   * the bridge joined it) and waits until the bridge's outbox holds it (read from its SQLite
   * file). A room's messages reach the bridge in order, so everything the room's history held
   * for the bridge was committed before the probe.
   */
  bridgeCaughtUp(signal: AbortSignal): Promise<void>;
  /** SIGKILL, then wait for the exit. */
  killBridge(): Promise<void>;
  /** SIGTERM, then wait for the exit; resolves with the exit code. */
  stopBridge(): Promise<number | null>;
  alice(): XmppUser;
  /** Every message alice saw in `room` over all her sessions, in order. */
  roomMessages(room: string): UserMessage[];
  /** Resolves once alice saw one more message in `room` than `n`. */
  waitForRoomMore(room: string, n: number, signal: AbortSignal): Promise<void>;
  restartProsody(): Promise<void>;
  close(): Promise<void>;
}

export async function startChaosWorld(opts: { log: (line: string) => void }): Promise<ChaosWorld> {
  const passwords = { bridge: `pw-${randomBytes(9).toString("hex")}`, alice: `pw-${randomBytes(9).toString("hex")}` };
  // Archives in memory: the file store rewrites a room's archive file at every 1% past its
  // 10,000-message quota, which made Prosody, not the bridge, set the pace of a --full run.
  // They do not outlive the Prosody restart; the rooms (persistent) do.
  const prosody = await startProsody({ users: passwords, archive: "memory" });
  const [tg, ob11, ob12, qq] = await Promise.all([
    startTelegramSim(),
    startOnebot11Sim(),
    startOnebot12Sim(),
    startWebqqSim({ autoScan: 1, holdMs: WEBQQ_HOLD_MS, groups: [{ name: QQ_GROUP, members: [{ name: "xiaoming", card: "小明" }] }] }),
  ]);
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-chaos-"));
  const room = (n: NetworkName) => `chaos-${n}@${prosody.muc}`;
  const sides = buildSides(room, tg, ob11, ob12, qq);

  const configPath = join(dir, "pollbridge.yaml");
  await writeFile(
    configPath,
    [
      "state_dir: ./state",
      `log: { level: ${process.env.CHAOS_LOG_LEVEL ?? "info"}, format: json }`,
      "xmpp:",
      `  jid: bridge@${prosody.domain}`,
      "  password: ${XMPP_PASSWORD}",
      `  service: ${prosody.service}`,
      `  nick: ${BRIDGE_NICK}`,
      "  sasl_mechanism: PLAIN",
      "networks:",
      // The simulators answer at once: a stall (1%) is given up after 5 s rather than the
      // default minute, and an unconfirmed send waits 10 s for its echo rather than 15 s (echoes
      // come within milliseconds, but a bridge on a busy machine was seen to stall 9 s).
      `  telegram: { type: telegram, token: "\${TG_TOKEN}", api: "${tg.url}", send_timeout: ${SEND_TIMEOUT_MS} }`,
      `  onebot11: { type: onebot11, api: "${ob11.url}", access_token: "\${OB_TOKEN}", events: long-poll, send_timeout: ${SEND_TIMEOUT_MS} }`,
      `  onebot12: { type: onebot12, url: "${ob12.url}", access_token: "\${OB12_TOKEN}", send_timeout: ${SEND_TIMEOUT_MS} }`,
      `  webqq: { type: webqq, endpoints: { ptlogin: "${qq.url}", ui: "${qq.url}", s: "${qq.url}", d1: "${qq.url}" }, poll_hold: ${WEBQQ_HOLD_MS}, send_interval: 10, send_timeout: ${SEND_TIMEOUT_MS} }`,
      `relay: { rate: { per_second: 1000, burst: 100 }, drain_timeout: 5000, echo_window: ${ECHO_WINDOW_MS} }`,
      "bridges:",
      `  - { xmpp: "${room("telegram")}", telegram: "${TG_CHAT}" }`,
      `  - { xmpp: "${room("onebot11")}", onebot11: ${OB11_GROUP} }`,
      `  - { xmpp: "${room("onebot12")}", onebot12: "${OB12_GROUP}" }`,
      `  - { xmpp: "${room("webqq")}", webqq: "${QQ_GROUP}" }`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, TG_TOKEN: tg.token, OB_TOKEN: ob11.token ?? "", OB12_TOKEN: ob12.token, POLLBRIDGE_CONFIG: "" };
  // Built, never started: only to read what each adapter can prove about a maybe-delivered send.
  const { config } = await loadConfig(configPath, env);
  const evidence = Object.fromEntries(
    NETWORKS.map((n) => {
      const groups = config.bridges.flatMap((b) => b.links.filter((l) => l.network === n).map((l) => l.group));
      const adapter = createNetwork(n, config.networks[n]!, { stateDir: join(dir, "evidence-probe"), logger: pino({ level: "silent" }), groups });
      return [n, { echo: adapter.evidence.echo, history: adapter.evidence.history, crashGap: adapter.crashGap !== undefined }];
    }),
  ) as Record<NetworkName, { echo: boolean; history: boolean; crashGap: boolean }>;
  // The bridge writes its log straight into the file: through a pipe, a driver busy serving the
  // simulators would leave the pipe full, and the bridge's synchronous log writes would stall it.
  const bridgeLog = openSync(join(dir, "bridge.log"), "a", 0o600);

  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let runs = 0;
  /** alice's stanza count when the bridge (re)started: its join presences come after it. */
  let joinMark = 0;
  const startBridge = () => {
    runs++;
    joinMark = alice.stanzas.length;
    const c = spawn(process.execPath, [MAIN, "run", "-c", configPath], { env, stdio: ["ignore", bridgeLog, bridgeLog] });
    exited = new Promise((resolve) => c.once("exit", (code) => resolve(code)));
    child = c;
    opts.log(`bridge run ${runs} started (pid ${c.pid})`);
  };

  // alice: her sessions' messages are kept when a Prosody restart ends a session.
  const archive = new Map<string, UserMessage[]>();
  const connectAlice = async () => {
    const user = await XmppUser.connect(prosody, "alice", passwords.alice);
    for (const n of NETWORKS) await user.join(room(n), "alice");
    return user;
  };
  let alice = await connectAlice();
  // alice made the rooms: persistent, as bridged rooms are, so they outlive a Prosody restart
  // (their history length stays Prosody's default, 20).
  for (const n of NETWORKS) await alice.configureRoom(room(n), { "muc#roomconfig_persistentroom": "1" });
  const bridgeInRooms = async (signal: AbortSignal) => {
    for (const n of NETWORKS) {
      const from = `${room(n)}/${BRIDGE_NICK}`;
      for (;;) {
        signal.throwIfAborted();
        const user = alice;
        const seen = (s: (typeof user.stanzas)[number]) => s.is("presence") && s.attrs.from === from && s.attrs.type !== "unavailable" && s;
        // Bounded waits, re-checked: a Prosody restart replaces alice.
        if (await user.waitForStanza(seen, { timeout: 1000, from: joinMark }).catch(() => undefined)) break;
      }
    }
  };
  // Once each: what alice read from the archive after a restart may also have come live.
  const roomMessages = (r: string) => onceEach([...(archive.get(r) ?? []), ...alice.messages.filter((m) => m.room === r)]);

  let probes = 0;
  const bridgeCaughtUp = async (signal: AbortSignal) => {
    await bridgeInRooms(signal);
    // One read-only connection for the whole wait: opening and closing one every 100 ms took
    // locks that made the bridge's synced writes wait (busy_timeout), and froze it for seconds.
    const db = new DatabaseSync(join(dir, "state", "outbox.sqlite"), { readOnly: true });
    try {
      // The probe's relayed copy, whatever key the bridge deduped it by (origin-id, stanza-id).
      const relayed = db.prepare("SELECT 1 FROM outbox WHERE bridge = ? AND text LIKE ?");
      await Promise.all(
        NETWORKS.map(async (n) => {
          const probe = `probe ${++probes}`; // not a chaos message: never counted
          await alice.say(room(n), probe);
          // The bridge is another process: its commit can only be looked at, not awaited.
          while (relayed.get(room(n), `%> ${probe}`) === undefined) await sleep(100, undefined, { signal });
        }),
      );
    } finally {
      db.close();
    }
  };

  return {
    prosody,
    bridgeCaughtUp,
    sides,
    evidence,
    dir,
    async crashGapWarnings() {
      const lines = (await readFile(join(dir, "bridge.log"), "utf8")).split("\n");
      const warned = lines.filter((l) => l.includes("the last run did not stop")).map((l) => (JSON.parse(l) as { network?: string }).network);
      return Object.fromEntries(NETWORKS.map((n) => [n, warned.filter((w) => w === n).length])) as Record<NetworkName, number>;
    },
    startBridge,
    bridgeInRooms,
    async killBridge() {
      child?.kill("SIGKILL");
      await exited;
    },
    async stopBridge() {
      child?.kill("SIGTERM");
      return exited;
    },
    alice: () => alice,
    roomMessages,
    async waitForRoomMore(r, n, signal) {
      while (roomMessages(r).length <= n) {
        const current = alice;
        const before = current.messages.length;
        signal.throwIfAborted();
        // Wakes on her next message; a restart replaces alice, so the wait is bounded and re-checked.
        await current.waitFor((m) => m, { timeout: 1000, from: before }).catch(() => undefined);
      }
    },
    async restartProsody() {
      // alice stays until the server goes: what the bridge sent up to then is hers to count.
      const down = new Date(Date.now() - 5000);
      await prosody.restart();
      for (const n of NETWORKS) archive.set(room(n), roomMessages(room(n)));
      await alice.stop().catch(() => undefined);
      alice = await connectAlice();
      // What was said while she was away she reads from the rooms' archives (a join replays 20).
      for (const n of NETWORKS) archive.set(room(n), [...archive.get(room(n))!, ...(await alice.archive(room(n), down))]);
      joinMark = 0; // the bridge's presence in the rooms is in her new session
    },
    async close() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      await alice.stop().catch(() => undefined);
      await Promise.all([tg.close(), ob11.close(), ob12.close(), qq.close()]);
      await prosody.stop();
      closeSync(bridgeLog);
      if (!process.env.CHAOS_KEEP) await rm(dir, { recursive: true, force: true });
    },
  };
}

function buildSides(room: (n: NetworkName) => string, tg: TelegramSim, ob11: Onebot11Sim, ob12: Onebot12Sim, qq: WebqqSim): Record<NetworkName, NetworkSide> {
  const base = (url: string) => url.replace(/\/$/, "");
  return {
    telegram: {
      name: "telegram",
      room: room("telegram"),
      control: base(tg.url),
      controlHeaders: {},
      loggedIn: async () => undefined,
      inject: (text) => void tg.inject({ chat: TG_CHAT, from: { id: 501, first_name: "Tele" }, text }),
      sentTexts: () => tg.sent(String(TG_CHAT)).map((m) => m.text),
      waitForMore: (n, signal) => tg.waitForSent(String(TG_CHAT), n + 1, signal).then(() => undefined),
    },
    onebot11: {
      name: "onebot11",
      room: room("onebot11"),
      control: base(ob11.url),
      controlHeaders: ob11.token ? { authorization: `Bearer ${ob11.token}` } : {},
      loggedIn: async () => undefined,
      inject: (text) => void ob11.inject({ group: OB11_GROUP, sender: { userId: 30001, nickname: "obi" }, message: text }),
      sentTexts: () => ob11.sent(OB11_GROUP).map((m) => m.text),
      waitForMore: (n, signal) => ob11.waitForSent(OB11_GROUP, n + 1, signal).then(() => undefined),
    },
    onebot12: {
      name: "onebot12",
      room: room("onebot12"),
      control: base(ob12.url),
      controlHeaders: {},
      loggedIn: async () => undefined,
      inject: (text) => void ob12.inject({ group: OB12_GROUP, member: { user_id: "40001", user_name: "twelve" }, message: text }),
      sentTexts: () => ob12.sent(OB12_GROUP).map((m) => m.text),
      waitForMore: (n, signal) => ob12.waitForSent(OB12_GROUP, n + 1, signal).then(() => undefined),
    },
    webqq: {
      name: "webqq",
      room: room("webqq"),
      control: base(qq.url),
      controlHeaders: {},
      loggedIn: (signal) => qq.waitForLogins(1, signal).then(() => undefined),
      inject: (text) => void qq.inject({ group: QQ_GROUP, sender: { name: "xiaoming", card: "小明" }, content: text }),
      sentTexts: () => qq.sent(QQ_GROUP).map((m) => m.text),
      waitForMore: (n, signal) => qq.waitForSent(QQ_GROUP, n + 1, signal).then(() => undefined),
    },
  };
}

/** Keeps the first of messages with the same stanza-id (the room's id of one message). */
function onceEach(messages: UserMessage[]): UserMessage[] {
  const seen = new Set<string>();
  return messages.filter((m) => m.stanzaId === undefined || (!seen.has(m.stanzaId) && (seen.add(m.stanzaId), true)));
}
