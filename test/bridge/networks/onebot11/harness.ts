// Shared setup for the OneBot 11 adapter tests: a simulator, a temp state dir, an adapter on it,
// a captured debug log, and waits on events (never on the clock).
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Onebot11NetworkConfig } from "../../../../bridge/config/types.ts";
import { createOnebot11, type Onebot11Options } from "../../../../bridge/networks/onebot11/index.ts";
import type { NetworkAdapter } from "../../../../bridge/network.ts";
import { adapterTestBed, Inbox, sendError, startOnline, waitForStatus } from "../../../helpers/network.ts";
import { startOnebot11Sim, type Onebot11Sim, type Onebot11SimOptions } from "../../../sim/onebot11.ts";

export { Inbox, sendError, waitForStatus };

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

export async function harness(t: TestContext, simOpts: Onebot11SimOptions = {}): Promise<Harness> {
  const sim = await startOnebot11Sim(simOpts);
  const { stateDir, logs, logger, track } = await adapterTestBed(t, "onebot11-", () => sim.close());
  const h: Harness = {
    sim,
    stateDir,
    logs,
    adapter(config = {}, extra = {}) {
      return track(createOnebot11({
        id: "ob",
        config: { type: "onebot11", api: sim.url, events: "long-poll", ...(sim.token === undefined ? {} : { access_token: sim.token }), ...config },
        stateDir,
        logger,
        groups: [String(GROUP)],
        retry: { retries: 2, minTimeout: 5, maxTimeout: 40, maxRetryAfter: 200 },
        pollTimeoutSeconds: 1,
        ...extra,
      }));
    },
    run: (config = {}, extra = {}) => startOnline(h.adapter(config, extra)),
  };
  return h;
}

/** No secret appears in any log line; no protocol violation happened. */
export function assertCleanRun(h: Harness, secrets: string[] = h.sim.secrets): void {
  assert.deepEqual(h.sim.violations, []);
  const all = h.logs.join("");
  for (const secret of secrets) assert.ok(!all.includes(secret), `a secret leaked into the logs: ${secret.slice(0, 4)}…`);
}
