// Shared setup for the WebQQ client tests: a simulator, a temp state dir, an adapter pointed at
// the simulator, a captured log, and waits on events (never on the clock).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import pino from "pino";
import { createWebqq, type WebqqOptions } from "../../../../bridge/networks/webqq/index.ts";
import type { InboundMessage, NetworkAdapter, NetworkStatus } from "../../../../bridge/network.ts";
import { startWebqqSim, type WebqqSim, type WebqqSimOptions } from "../../../sim/webqq.ts";

export type Adapter = NetworkAdapter & { login(): Promise<void> };

export interface Harness {
  sim: WebqqSim;
  stateDir: string;
  logs: string[];
  qrs: { png: Uint8Array; pngPath: string; text: string }[];
  /** Makes an adapter on the sim (stopped in t.after). */
  adapter(extra?: Partial<WebqqOptions>): Adapter;
  /** Starts an adapter with a collecting sink. */
  run(extra?: Partial<WebqqOptions>): Promise<{ adapter: Adapter; inbox: Inbox }>;
}

/** Received messages, with a wait for the n-th. */
export class Inbox {
  readonly messages: InboundMessage[] = [];
  private waiters: (() => void)[] = [];
  /** When set, the sink throws this many times before accepting. */
  failNext = 0;

  readonly sink = async (msg: InboundMessage): Promise<void> => {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("sink unavailable");
    }
    this.messages.push(msg);
    for (const w of this.waiters.splice(0)) w();
  };

  async waitFor(n: number): Promise<InboundMessage[]> {
    while (this.messages.length < n) await new Promise<void>((r) => this.waiters.push(r));
    return this.messages;
  }
}

/** Resolves when the adapter is in `state`; with `next`, only on a future change into it. */
export function waitForStatus(adapter: NetworkAdapter, state: string, next = false): Promise<NetworkStatus> {
  return new Promise((resolve) => {
    if (!next && adapter.status().state === state) return resolve(adapter.status());
    adapter.onStatus!((s) => {
      if (s.state === state) resolve(s);
    });
  });
}

export async function harness(t: TestContext, simOpts: WebqqSimOptions = {}): Promise<Harness> {
  const sim = await startWebqqSim({ holdMs: 150, autoScan: 2, ...simOpts });
  const stateDir = await mkdtemp(join(tmpdir(), "webqq-"));
  const logs: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  const adapters: Adapter[] = [];
  t.after(async () => {
    for (const a of adapters) await a.stop();
    await sim.close();
    await rm(stateDir, { recursive: true, force: true });
  });
  const h: Harness = {
    sim,
    stateDir,
    logs,
    qrs: [],
    adapter(extra = {}) {
      const a = createWebqq({
        id: "qq",
        stateDir,
        endpoints: { ptlogin: sim.url, ui: sim.url, s: sim.url, d1: sim.url },
        logger,
        groups: ["Dev Group"],
        sendInterval: 10,
        pollHold: 150,
        qrPollInterval: 5,
        retry: { retries: 2, minTimeout: 5, maxTimeout: 40 },
        onQr: (qr) => void h.qrs.push(qr),
        ...extra,
      });
      adapters.push(a);
      return a;
    },
    async run(extra = {}) {
      const adapter = h.adapter(extra);
      const inbox = new Inbox();
      const online = waitForStatus(adapter, "online");
      await adapter.start(inbox.sink);
      await online;
      return { adapter, inbox };
    },
  };
  return h;
}

/** No secret the simulator handed out appears in any log line; no protocol violation happened. */
export function assertCleanRun(h: Harness): void {
  assert.deepEqual(h.sim.violations, []);
  const all = h.logs.join("");
  assert.ok(h.sim.state.secrets.length > 0);
  for (const secret of h.sim.state.secrets) assert.ok(!all.includes(secret), `a secret leaked into the logs: ${secret.slice(0, 6)}…`);
}
