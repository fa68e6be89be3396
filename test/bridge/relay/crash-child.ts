// A relay process for the crash tests (run by crash.test.ts, killed with SIGKILL).
//   node crash-child.ts DB_PATH GROUP_URL EVIDENCE accept N   tg delivers N messages; qq is logged
//                                                             out, so they are committed and not sent
//   node crash-child.ts DB_PATH GROUP_URL EVIDENCE resume [STOP]
//       qq is logged in and sends by POSTing to GROUP_URL/send; prints "idle" when its outbox is
//       empty; SIGTERM stops it cleanly and prints "stopped depth=D resent=R". With STOP the first
//       send halts at that point and prints it, for the parent to kill the process there:
//         before-write   attempt marked, request not written yet ("at before-write")
//         answered       the group answered, the answer not committed yet ("at answered")
// EVIDENCE is what qq can prove about an unconfirmed send: "echo" (the group's event stream
// GROUP_URL/events hands our own messages back; what was sent before this process started
// arrives before qq reports itself online, as a network's redelivery of unacknowledged events
// does), "history" (GROUP_URL/history looks a send up), or "none".
// qq's sends go over HTTP to the parent, so what was delivered outlives this process.
import pino from "pino";
import { SendError, type MessageSink, type NetworkAdapter, type NetworkStatus, type SendResult } from "../../../bridge/network.ts";
import type { RelayMetrics } from "../../../bridge/relay/metrics.ts";
import { Relay } from "../../../bridge/relay/relay.ts";
import { Outbox } from "../../../bridge/store/outbox.ts";
import { MemoryNetwork } from "../../helpers/memory-network.ts";
import { MemoryMuc, MemoryRoomLink } from "./memory-room.ts";

const [dbPath, groupUrl, evidence, mode, arg] = process.argv.slice(2);
if (!dbPath || !groupUrl || !["echo", "history", "none"].includes(evidence ?? "") || (mode !== "accept" && mode !== "resume")) {
  throw new Error("usage: crash-child.ts DB URL echo|history|none accept N|resume [before-write|answered]");
}
const stopAt = mode === "resume" ? arg : undefined;
const never = new Promise<never>(() => {});

interface GroupEvent {
  id: string;
  group: string;
  text: string;
}

class HttpNetwork implements NetworkAdapter {
  readonly id = "qq";
  readonly type = "http-test";
  readonly maxMessageLength = 4000;
  readonly evidence = { echo: evidence === "echo", history: evidence === "history" };
  readonly #poll = new AbortController();
  #status: NetworkStatus = { ok: false, state: "starting" };
  #stopAtUsed = false;

  async start(sink: MessageSink): Promise<void> {
    if (mode === "resume" && this.evidence.echo) {
      let after = await this.#events(sink, 0, false);
      void (async () => {
        for (;;) after = await this.#events(sink, after, true);
      })().catch(() => undefined); // aborted at stop
    }
    this.#status = mode === "resume" ? { ok: true, state: "online" } : { ok: false, state: "login-required" };
  }

  /** Reads own messages after `after` (a long poll when `wait`), hands them to the sink, returns the new cursor. */
  async #events(sink: MessageSink, after: number, wait: boolean): Promise<number> {
    const res = await fetch(`${groupUrl}/events?after=${after}&wait=${wait ? 1 : 0}`, { signal: this.#poll.signal });
    const events = (await res.json()) as GroupEvent[];
    for (const e of events) await sink({ ...e, senderId: "self", senderName: "bridge", time: new Date(), own: true });
    return after + events.length;
  }

  async stop(): Promise<void> {
    this.#poll.abort();
  }

  async send(group: string, text: string): Promise<SendResult> {
    const halt = stopAt !== undefined && !this.#stopAtUsed;
    this.#stopAtUsed = true;
    if (halt && stopAt === "before-write") {
      process.stdout.write("at before-write\n");
      return never;
    }
    const res = await fetch(`${groupUrl}/send`, { method: "POST", body: JSON.stringify({ group, text }) }).catch((err: unknown) => {
      throw new SendError("post failed", "unknown", { cause: err });
    });
    if (!res.ok) throw new SendError(`HTTP ${res.status}`, "retry");
    const answer = (await res.json()) as SendResult;
    if (halt && stopAt === "answered") {
      process.stdout.write("at answered\n");
      return never;
    }
    return answer;
  }

  async findSent(group: string, text: string, since: Date): Promise<SendResult | null> {
    const q = new URLSearchParams({ group, text, since: String(since.getTime()) });
    const res = await fetch(`${groupUrl}/history?${q}`);
    if (!res.ok) throw new Error(`history: HTTP ${res.status}`);
    return (await res.json()) as SendResult | null;
  }

  async groups(): Promise<string[]> {
    return ["Dev"];
  }
  status(): NetworkStatus {
    return this.#status;
  }
  // Status never changes within one run; having onStatus makes the relay trust status().
  onStatus(_listener: (s: NetworkStatus) => void): void {}
}

let resent = 0;
const metrics: RelayMetrics = {
  relayed: () => undefined,
  failed: () => undefined,
  resentUnconfirmed: () => void resent++,
  gauges: () => undefined,
};

const outbox = new Outbox(dbPath);
const link = new MemoryRoomLink(new MemoryMuc(), "bridge");
const tg = new MemoryNetwork({ id: "tg", groups: ["G1"] });
const relay = new Relay({
  bridges: [{ xmpp: "dev@conference.localhost", format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev" }, { network: "tg", group: "G1" }] }],
  outbox,
  room: link,
  networks: new Map<string, NetworkAdapter>([["qq", new HttpNetwork()], ["tg", tg]]),
  logger: pino({ level: "silent" }),
  metrics,
  backoff: { min: 1, max: 10 },
  echoWindowMs: 200,
});
await relay.start();
link.goOnline();
// Pending promises alone do not keep a process alive: this does, until SIGTERM (or SIGKILL).
const keepAlive = setInterval(() => {}, 1 << 30);

if (mode === "accept") {
  for (let i = 1; i <= Number(arg); i++) {
    await tg.push({ id: `tg-${i}`, group: "G1", text: `m${i}` });
    process.stdout.write(`committed ${i}\n`);
  }
} else {
  // The handler is in place before "idle" is printed: the parent sends SIGTERM on that line.
  process.once("SIGTERM", async () => {
    clearInterval(keepAlive);
    const { depth } = await relay.stop(5000);
    outbox.close();
    process.stdout.write(`stopped depth=${depth} resent=${resent}\n`);
    process.exitCode = 0;
  });
  let said = false;
  const idle = () => {
    if (said || outbox.next("net:qq:Dev") !== undefined) return;
    said = true;
    process.stdout.write("idle\n");
  };
  idle();
  relay.on("settled", idle);
}
