// Shared setup for the WebQQ client tests: a simulator, a temp state dir, an adapter pointed at
// the simulator, a captured log, and waits on events (never on the clock).
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { createWebqq, type WebqqOptions } from "../../../../bridge/networks/webqq/index.ts";
import type { NetworkAdapter } from "../../../../bridge/network.ts";
import { adapterTestBed, Inbox, sendError, startOnline, waitForStatus } from "../../../helpers/network.ts";
import { startWebqqSim, type WebqqSim, type WebqqSimOptions } from "../../../sim/webqq.ts";

export { Inbox, sendError, waitForStatus };

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

export async function harness(t: TestContext, simOpts: WebqqSimOptions = {}): Promise<Harness> {
  const sim = await startWebqqSim({ holdMs: 150, autoScan: 2, ...simOpts });
  const { stateDir, logs, logger, track } = await adapterTestBed(t, "webqq-", () => sim.close());
  const h: Harness = {
    sim,
    stateDir,
    logs,
    qrs: [],
    adapter(extra = {}) {
      return track(createWebqq({
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
      }));
    },
    run: (extra = {}) => startOnline(h.adapter(extra)),
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
