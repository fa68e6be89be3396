// Shared setup for the OneBot 11 adapter tests: a simulator, a temp state dir, an adapter on it,
// a captured debug log, and waits on events (never on the clock).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import pino from "pino";
import type { Onebot11NetworkConfig } from "../../../../bridge/config/types.ts";
import { createOnebot11, type Onebot11Options } from "../../../../bridge/networks/onebot11/index.ts";
import type { InboundMessage, NetworkAdapter, NetworkStatus } from "../../../../bridge/network.ts";
import { SendError } from "../../../../bridge/network.ts";
import { startOnebot11Sim, type Onebot11Sim, type Onebot11SimOptions } from "../../../sim/onebot11.ts";

export const GROUP = 123456;

export interface Harness {
  sim: Onebot11Sim;
  stateDir: string;
  logs: string[];
  /** An adapter on the sim (stopped in t.after). */
  adapter(config?: Partial<Onebot11NetworkConfig>, extra?: Partial<Onebot11Options>): NetworkAdapter;
  /** Starts an adapter with a collecting sink and waits until it is online. */
  run(config?: Partial<Onebot11NetworkConfig>, extra?: Partial<Onebot11Options>): Promise<{ adapter: NetworkAdapter; inbox: Inbox }>;
}

/** Received messages, with a wait for the n-th. */
export class Inbox {
  readonly messages: InboundMessage[] = [];
  private waiters: (() => void)[] = [];
  /** When set, the sink throws this many times before accepting. */
  failNext = 0;
  failures = 0;

  readonly sink = async (msg: InboundMessage): Promise<void> => {
    if (this.failNext > 0) {
      this.failNext--;
      this.failures++;
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

/** Resolves when the adapter is in `state` (now or later). */
export function waitForStatus(adapter: NetworkAdapter, state: string): Promise<NetworkStatus> {
  return new Promise((resolve) => {
    if (adapter.status().state === state) return resolve(adapter.status());
    adapter.onStatus!((s) => {
      if (s.state === state) resolve(s);
    });
  });
}

export async function sendError(p: Promise<unknown>): Promise<SendError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SendError, `not a SendError: ${String(err)}`);
    return err;
  }
  assert.fail("send resolved");
}

export async function harness(t: TestContext, simOpts: Onebot11SimOptions = {}): Promise<Harness> {
  const sim = await startOnebot11Sim(simOpts);
  const stateDir = await mkdtemp(join(tmpdir(), "onebot11-"));
  const logs: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  const adapters: NetworkAdapter[] = [];
  t.after(async () => {
    for (const a of adapters) await a.stop();
    await sim.close();
    await rm(stateDir, { recursive: true, force: true });
  });
  const h: Harness = {
    sim,
    stateDir,
    logs,
    adapter(config = {}, extra = {}) {
      const a = createOnebot11({
        id: "ob",
        config: { type: "onebot11", api: sim.url, events: "long-poll", ...(sim.token === undefined ? {} : { access_token: sim.token }), ...config },
        stateDir,
        logger,
        groups: [String(GROUP)],
        retry: { retries: 2, minTimeout: 5, maxTimeout: 40, maxRetryAfter: 200 },
        pollTimeoutSeconds: 1,
        ...extra,
      });
      adapters.push(a);
      return a;
    },
    async run(config = {}, extra = {}) {
      const adapter = h.adapter(config, extra);
      const inbox = new Inbox();
      const online = waitForStatus(adapter, "online");
      await adapter.start(inbox.sink);
      await online;
      return { adapter, inbox };
    },
  };
  return h;
}

/** No secret appears in any log line; no protocol violation happened. */
export function assertCleanRun(h: Harness, secrets: string[] = h.sim.secrets): void {
  assert.deepEqual(h.sim.violations, []);
  const all = h.logs.join("");
  for (const secret of secrets) assert.ok(!all.includes(secret), `a secret leaked into the logs: ${secret.slice(0, 4)}…`);
}
