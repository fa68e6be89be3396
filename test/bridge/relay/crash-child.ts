// A relay process for the crash tests (run by crash.test.ts, killed with SIGKILL).
//   node crash-child.ts DB_PATH DELIVER_URL accept N   tg delivers N messages; qq is logged out,
//                                                       so they are committed and not sent
//   node crash-child.ts DB_PATH DELIVER_URL resume     qq is logged in and sends by POSTing to
//                                                       DELIVER_URL; prints "idle" when the outbox
//                                                       is empty; SIGTERM stops it cleanly
// qq's sends go over HTTP to the parent, so what was delivered outlives this process.
import pino from "pino";
import { SendError, type MessageSink, type NetworkAdapter, type NetworkStatus } from "../../../bridge/network.ts";
import { Relay } from "../../../bridge/relay/relay.ts";
import { Outbox } from "../../../bridge/store/outbox.ts";
import { MemoryNetwork } from "../../helpers/memory-network.ts";
import { MemoryMuc, MemoryRoomLink } from "./memory-room.ts";

const [dbPath, deliverUrl, mode, count] = process.argv.slice(2);
if (!dbPath || !deliverUrl || (mode !== "accept" && mode !== "resume")) throw new Error("usage: crash-child.ts DB URL accept N|resume");

class HttpNetwork implements NetworkAdapter {
  readonly id = "qq";
  readonly type = "http-test";
  readonly maxMessageLength = 4000;
  readonly evidence = { echo: false, history: false };
  #status: NetworkStatus = { ok: false, state: "starting" };
  async start(_sink: MessageSink): Promise<void> {
    this.#status = mode === "resume" ? { ok: true, state: "online" } : { ok: false, state: "login-required" };
  }
  async stop(): Promise<void> {}
  async send(group: string, text: string): Promise<{ id: string }> {
    const res = await fetch(deliverUrl!, { method: "POST", body: JSON.stringify({ group, text }) }).catch((err: unknown) => {
      throw new SendError("post failed", "unknown", { cause: err });
    });
    if (!res.ok) throw new SendError(`HTTP ${res.status}`, "retry");
    return (await res.json()) as { id: string };
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

const outbox = new Outbox(dbPath);
const link = new MemoryRoomLink(new MemoryMuc(), "bridge");
const tg = new MemoryNetwork({ id: "tg", groups: ["G1"] });
const relay = new Relay({
  bridges: [{ xmpp: "dev@conference.localhost", format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev" }, { network: "tg", group: "G1" }] }],
  outbox,
  room: link,
  networks: new Map<string, NetworkAdapter>([["qq", new HttpNetwork()], ["tg", tg]]),
  logger: pino({ level: "silent" }),
  backoff: { min: 1, max: 10 },
});
await relay.start();
link.goOnline();
// Pending promises alone do not keep a process alive: this does, until SIGTERM (or SIGKILL).
const keepAlive = setInterval(() => {}, 1 << 30);

if (mode === "accept") {
  for (let i = 1; i <= Number(count); i++) {
    await tg.push({ id: `tg-${i}`, group: "G1", text: `m${i}` });
    process.stdout.write(`committed ${i}\n`);
  }
} else {
  // The handler is in place before "idle" is printed: the parent sends SIGTERM on that line.
  process.once("SIGTERM", async () => {
    clearInterval(keepAlive);
    const { depth } = await relay.stop(5000);
    outbox.close();
    process.stdout.write(`stopped depth=${depth}\n`);
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
