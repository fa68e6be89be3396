// Shared setup for the OneBot 12 adapter tests: a simulator, a temp state dir, adapters pointed at
// the simulator, a captured debug log, and waits on events (never on the clock).
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { createOnebot12, type Onebot12Options } from "../../../../bridge/networks/onebot12/index.ts";
import type { NetworkAdapter } from "../../../../bridge/network.ts";
import { adapterTestBed, Inbox, sendError, startOnline, waitForStatus } from "../../../helpers/network.ts";
import { startOnebot12Sim, type Onebot12Sim, type Onebot12SimOptions } from "../../../sim/onebot12.ts";

export { Inbox, sendError, waitForStatus };

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

export async function harness(t: TestContext, simOpts: Onebot12SimOptions = {}): Promise<Harness> {
  const sim = await startOnebot12Sim(simOpts);
  const { stateDir, logs, logger, track } = await adapterTestBed(t, "onebot12-", () => sim.close());
  const h: Harness = {
    sim,
    stateDir,
    logs,
    adapter(extra = {}) {
      return track(createOnebot12({
        id: "ob12",
        config: { type: "onebot12", url: sim.url, ...(sim.token ? { access_token: sim.token } : {}) },
        stateDir,
        logger,
        groups: [GROUP],
        retry: TEST_RETRY,
        pollTimeoutSeconds: 1,
        ...extra,
      }));
    },
    run: (extra = {}) => startOnline(h.adapter(extra)),
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
