// `pollbridge demo`: the whole bridge on loopback with no account anywhere. A simulated WebQQ
// group (test/sim/webqq.ts) and a private Prosody (test/helpers/prosody.ts) are started, the real
// bridge runs between them, and a simulated group member talks with an XMPP user.
// `--once`: one exchange each way, checked to arrive exactly once, then exit 0 (CI runs it).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { MucClient } from "../xmpp/muc-client.ts";
import type { RoomMessage } from "../xmpp/types.ts";
import type { Config } from "../config/types.ts";
import { createLogger } from "../log.ts";
import { contentToText } from "../networks/webqq/content.ts";

const exec = promisify(execFile);
const GROUP = "Demo Group";
const MEMBER = { name: "xiaoming", card: "小明" };
const ROOM_NAME = "demo";
// Exercises the hard parts on the way: Chinese, a face, XML/HTML special characters.
const QQ_LINE = ["你好！Hello from QQ <b>&amp;</b> \"quotes\" ", ["face", 14], " 😀"] as const;
const XMPP_LINE = "Hi 小明, this is alice on XMPP: 1 < 2 && 3 > 2";
const STEP_TIMEOUT_MS = 30_000;

type Out = (line: string) => void;

export async function demo(argv: string[], opts: { logger: Logger }): Promise<number> {
  const once = argv.includes("--once");
  const out: Out = (line) => process.stdout.write(`${line}\n`);
  // The conversation is the show: the bridge's own log says only what goes wrong.
  const log = opts.logger.isLevelEnabled("debug") ? opts.logger : createLogger({ level: "warn" });

  if (!(await ensureProsody(out))) return 2;
  const parts = await loadCheckoutParts();
  if (!parts) {
    out("pollbridge demo runs from a source checkout: git clone the repository, then `npm ci && npm run demo`.");
    return 2;
  }
  const { startProsody, startWebqqSim, run } = parts;

  const cleanup: (() => Promise<unknown>)[] = [];
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const passwords = { bridge: secret(), alice: secret() };
    const prosody = await startProsody({ users: passwords });
    cleanup.push(() => prosody.stop());
    const sim = await startWebqqSim({ autoScan: 1, holdMs: 15_000, groups: [{ name: GROUP, members: [MEMBER] }] });
    cleanup.push(() => sim.close());
    const stateDir = await mkdtemp(join(tmpdir(), "pollbridge-demo-"));
    cleanup.push(() => rm(stateDir, { recursive: true, force: true }));
    const room = `${ROOM_NAME}@${prosody.muc}`;

    out("pollbridge demo: a simulated WebQQ group ⇄ pollbridge ⇄ a private Prosody, all on loopback");
    out(`  QQ group "${GROUP}"   simulated at ${sim.url}`);
    out(`  XMPP room ${room}   on ${prosody.service}`);
    out("");

    // The XMPP user is a client of its own; it uses the bridge's MUC client too (one less toy).
    const quiet = createLogger({ level: "error" });
    const alice = new MucClient({
      jid: `alice@${prosody.domain}`, password: passwords.alice, service: prosody.service, nick: "alice",
      saslMechanism: "PLAIN", logger: quiet.child({ demo: "alice" }),
    });
    cleanup.unshift(() => alice.stop());
    await alice.start();
    alice.join(room);
    const aliceSees = collect(alice, room);

    const config: Config = {
      path: "(demo)",
      state_dir: stateDir,
      log: { level: "warn" },
      xmpp: {
        jid: `bridge@${prosody.domain}`, password: passwords.bridge, service: prosody.service, nick: "qq",
        verify_tls: true, sasl_mechanism: "PLAIN",
      },
      networks: { qq: { type: "webqq", endpoints: { ptlogin: sim.url, ui: sim.url, s: sim.url, d1: sim.url }, poll_hold: 15_000 } },
      bridges: [{ xmpp: room, format: "<{nick}> {text}", links: [{ network: "qq", group: GROUP }] }],
      relay: { drain_timeout: 3_000 },
    };
    const bridgeStop = new AbortController();
    out("The bridge logs in to the simulated QQ with a QR code (the simulator confirms the scan itself):");
    const bridgeDone = run(config, { logger: log.child({ demo: "bridge" }), signal: bridgeStop.signal });
    cleanup.unshift(async () => {
      bridgeStop.abort();
      await bridgeDone;
    });

    // QQ → XMPP. The bridge logs in to the simulated QQ (the QR is confirmed by the simulator).
    const step = () => AbortSignal.any([stop.signal, AbortSignal.timeout(STEP_TIMEOUT_MS)]);
    await sim.waitForLogins(1, step());
    out("");
    sim.inject({ group: GROUP, sender: MEMBER, content: [...QQ_LINE] as never });
    out(`[QQ  ${GROUP}] ${MEMBER.card}: ${renderQq(QQ_LINE)}`);
    const relayed = await aliceSees.next((m) => m.nick === "qq" && !m.delayed, step());
    out(`[XMPP ${room}] ${relayed.nick}: ${relayed.body}        (what alice sees)`);

    // XMPP → QQ: the bridge is now joined (it just spoke in the room).
    await alice.send(room, XMPP_LINE);
    out(`[XMPP ${room}] alice: ${XMPP_LINE}`);
    const [sent] = await sim.waitForSent(GROUP, 1, step());
    out(`[QQ  ${GROUP}] (bridge account): ${sent!.text}        (what the QQ group sees)`);

    if (once) {
      const qqCopies = sim.sent(GROUP).length;
      const xmppCopies = aliceSees.all().filter((m) => m.nick === "qq").length;
      if (qqCopies !== 1 || xmppCopies !== 1) {
        out(`demo FAILED: expected exactly one copy each way, saw ${xmppCopies} in XMPP and ${qqCopies} in QQ`);
        return 2;
      }
      out("");
      out("demo OK: one message each way, delivered exactly once.");
      return 0;
    }

    out("");
    out(`Type a line to speak as alice in XMPP, or "qq: text" to speak as ${MEMBER.card} in the QQ group. Ctrl-C stops.`);
    let seenQq = sim.sent(GROUP).length;
    const echoQq = async () => {
      while (!stop.signal.aborted) {
        const sentNow = await sim.waitForSent(GROUP, seenQq + 1, stop.signal).catch(() => []);
        for (const m of sentNow.slice(seenQq)) out(`[QQ  ${GROUP}] (bridge account): ${m.text}`);
        seenQq = sentNow.length || seenQq;
      }
    };
    const echoXmpp = async () => {
      while (!stop.signal.aborted) {
        const m = await aliceSees.next((x) => x.nick === "qq" && !x.delayed, stop.signal).catch(() => undefined);
        if (m) out(`[XMPP ${room}] ${m.nick}: ${m.body}`);
      }
    };
    const lines = createInterface({ input: process.stdin, terminal: false });
    lines.on("line", (line) => {
      const text = line.trim();
      if (!text) return;
      if (text.startsWith("qq:")) {
        const said = text.slice(3).trim();
        out(`[QQ  ${GROUP}] ${MEMBER.card}: ${said}`);
        sim.inject({ group: GROUP, sender: MEMBER, content: said });
      } else {
        out(`[XMPP ${room}] alice: ${text}`);
        void alice.send(room, text).catch((err: Error) => out(`(alice could not send: ${err.message})`));
      }
    });
    lines.on("close", () => undefined); // stdin closed: keep running until Ctrl-C
    stop.signal.addEventListener("abort", () => lines.close(), { once: true });
    await Promise.all([echoQq(), echoXmpp()]);
    return 0;
  } catch (err) {
    if (stop.signal.aborted) return 0;
    out(`demo failed: ${(err as Error).message}`);
    return 2;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const fn of cleanup) await fn().catch(() => undefined);
  }
}

function secret(): string {
  return randomBytes(12).toString("base64url");
}

/** What a QQ member sees: the text with its faces drawn as the web client names them. */
function renderQq(line: readonly unknown[]): string {
  return contentToText([["font", {}], ...line]);
}

/** Room messages seen by a client, with a way to wait for the next one that matches. */
function collect(client: MucClient, room: string) {
  const seen: RoomMessage[] = [];
  let cursor = 0;
  const waiters = new Set<() => void>();
  client.on("message", (m) => {
    if (m.room !== room) return;
    seen.push(m);
    for (const w of waiters) w();
  });
  return {
    all: () => seen,
    next(match: (m: RoomMessage) => boolean, signal: AbortSignal): Promise<RoomMessage> {
      return new Promise((resolve, reject) => {
        const check = () => {
          while (cursor < seen.length) {
            const m = seen[cursor++]!;
            if (match(m)) {
              waiters.delete(check);
              signal.removeEventListener("abort", onAbort);
              resolve(m);
              return;
            }
          }
        };
        const onAbort = () => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for a message in ${room}`));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        waiters.add(check);
        check();
      });
    },
  };
}

/** Prosody on PATH, installed with apt-get where we are root; otherwise one line saying how. */
async function ensureProsody(out: Out): Promise<boolean> {
  const has = () => exec("sh", ["-c", "command -v prosody && command -v prosodyctl"]).then(() => true, () => false);
  if (await has()) return true;
  const canApt = process.getuid?.() === 0 && (await exec("sh", ["-c", "command -v apt-get"]).then(() => true, () => false));
  if (canApt) {
    out("Prosody is not installed; installing it with apt-get (Debian package `prosody`)…");
    try {
      await exec("apt-get", ["update", "-qq"]);
      await exec("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "prosody"], {
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
      if (await has()) return true;
    } catch {
      /* fall through to the hint */
    }
  }
  out("pollbridge demo needs Prosody (a local XMPP server): install it with `sudo apt-get install prosody`, then run `npm run demo` again.");
  return false;
}

/** The simulator and the Prosody harness live in the checkout's test/ folder (not published). */
async function loadCheckoutParts() {
  try {
    const [prosody, sim, runMod] = await Promise.all([
      import("../../test/helpers/prosody.ts"),
      import("../../test/sim/webqq.ts"),
      import("./run.ts"),
    ]);
    return { startProsody: prosody.startProsody, startWebqqSim: sim.startWebqqSim, run: runMod.run };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw err;
  }
}
