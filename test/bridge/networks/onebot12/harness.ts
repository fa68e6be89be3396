// Shared setup for the OneBot 12 adapter tests: a simulator, a temp state dir, adapters pointed at
// the simulator, a captured debug log, and waits on events (never on the clock).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import pino from "pino";
import { createOnebot12, type Onebot12Options } from "../../../../bridge/networks/onebot12/index.ts";
import { SendError, type InboundMessage, type NetworkAdapter, type NetworkStatus } from "../../../../bridge/network.ts";
import { startOnebot12Sim, type Onebot12Sim, type Onebot12SimOptions } from "../../../sim/onebot12.ts";

export const GROUP = "12345";
/** Tiny delays: every backoff in these tests is milliseconds. */
export const TEST_RETRY = { retries: 2, minTimeout: 5, maxTimeout: 40 };

export interface Harness {
  sim: Onebot12Sim;
  stateDir: string;
  logs: string[];
  /** Makes an adapter on the sim (stopped in t.after). */
  adapter(extra?: Partial<Onebot12Options>): NetworkAdapter;
  /** Starts an adapter with a collecting sink and waits until it is online. */
  run(extra?: Partial<Onebot12Options>): Promise<{ adapter: NetworkAdapter; inbox: Inbox }>;
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

/** Resolves when the adapter is in `state`; with `next`, only on a future change into it. */
export function waitForStatus(adapter: NetworkAdapter, state: string, next = false): Promise<NetworkStatus> {
  return new Promise((resolve) => {
    if (!next && adapter.status().state === state) return resolve(adapter.status());
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

export async function harness(t: TestContext, simOpts: Onebot12SimOptions = {}): Promise<Harness> {
  const sim = await startOnebot12Sim(simOpts);
  const stateDir = await mkdtemp(join(tmpdir(), "onebot12-"));
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
    adapter(extra = {}) {
      const a = createOnebot12({
        id: "ob12",
        config: { type: "onebot12", url: sim.url, ...(sim.token ? { access_token: sim.token } : {}) },
        stateDir,
        logger,
        groups: [GROUP],
        retry: TEST_RETRY,
        pollTimeoutSeconds: 1,
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

/** The token never appears in any log line; no protocol violation happened. */
export function assertCleanRun(h: Harness, allowedViolations: RegExp[] = []): void {
  assert.deepEqual(h.sim.violations.filter((v) => !allowedViolations.some((r) => r.test(v))), []);
  assertNoSecretLogged(h);
}

export function assertNoSecretLogged(h: Harness): void {
  assert.ok(h.logs.length > 0);
  assert.ok(h.sim.token.length > 8);
  const all = h.logs.join("");
  assert.ok(!all.includes(h.sim.token), "the access token leaked into the logs");
}

export function member(user_id: string, user_name: string, user_displayname?: string) {
  return { user_id, user_name, ...(user_displayname === undefined ? {} : { user_displayname }) };
}
