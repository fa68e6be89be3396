// Shared setup for the QQ bot adapter tests: a strict simulator, a temp state dir, an adapter
// pointed at it with a captured debug log, and the check that no secret or token was logged.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { createQqbot, type QqbotOptions } from "../../../../bridge/networks/qqbot/index.ts";
import type { QqbotNetworkConfig } from "../../../../bridge/config/types.ts";
import type { InboundMessage, NetworkAdapter } from "../../../../bridge/network.ts";
import { startQqbotSim, type QqbotSim, type QqbotSimOptions } from "../../../sim/qqbot.ts";
import { adapterTestBed, Inbox, sendError, startOnline, waitForStatus } from "../../../helpers/network.ts";

export { Inbox, sendError, startOnline, waitForStatus };

export const CH = "channel:1001";
export const CH2 = "channel:1002";
export const GROUP_OPENID = "G0A1B2C3D4E5F60718293A4B5C6D7E8F";
export const GRP = `group:${GROUP_OPENID}`;
export const alice = { id: "11111", username: "alice", nick: "Alice in Guild" };
export const bob = { id: "22222", username: "bob" };

export type QqbotAdapter = NetworkAdapter & { ready(group: string): boolean };

export interface Harness {
  sim: QqbotSim;
  stateDir: string;
  logs: string[];
  adapter(extra?: Partial<QqbotOptions>, config?: Partial<QqbotNetworkConfig>): QqbotAdapter;
  run(extra?: Partial<QqbotOptions>, config?: Partial<QqbotNetworkConfig>): Promise<{ adapter: QqbotAdapter; inbox: Inbox }>;
}

export async function harness(t: TestContext, simOpts: QqbotSimOptions = {}): Promise<Harness> {
  const sim = await startQqbotSim({ heartbeatIntervalMs: 300, ...simOpts });
  const { stateDir, logs, logger, track } = await adapterTestBed(t, "qqbot-", () => sim.close());
  const h: Harness = {
    sim,
    stateDir,
    logs,
    adapter(extra = {}, config = {}) {
      return track(
        createQqbot({
          id: "qb",
          config: { type: "qqbot", app_id: sim.appId, secret: sim.secret, events: "ws", api: sim.url, token_url: sim.tokenUrl, ...config },
          stateDir,
          logger,
          groups: [CH, GRP],
          retry: { retries: 2, minTimeout: 5, maxTimeout: 40 },
          sendTimeoutMs: 1_000,
          now: () => sim.state.now(),
          ...extra,
        }),
      ) as QqbotAdapter;
    },
    run: (extra = {}, config = {}) => startOnline(h.adapter(extra, config)),
  };
  return h;
}

/** Resolves with the messages of others (not own echoes) once there are `n`. */
export async function others(inbox: Inbox, n: number): Promise<InboundMessage[]> {
  for (;;) {
    const list = inbox.messages.filter((m) => !m.own);
    if (list.length >= n) return list;
    await inbox.waitFor(inbox.messages.length + 1);
  }
}

/** Resolves with the own echoes once there are `n`. */
export async function echoes(inbox: Inbox, n: number): Promise<InboundMessage[]> {
  for (;;) {
    const list = inbox.messages.filter((m) => m.own);
    if (list.length >= n) return list;
    await inbox.waitFor(inbox.messages.length + 1);
  }
}

/** No protocol violation, and neither the secret nor any token the sim issued appears in a log line. */
export function assertCleanRun(h: Harness): void {
  assert.deepEqual(h.sim.violations, []);
  assertNoSecretInLogs(h);
}

export function assertNoSecretInLogs(h: Harness): void {
  const all = h.logs.join("");
  assert.ok(h.logs.length > 0);
  assert.ok(!all.includes(h.sim.secret), "the app secret leaked into the logs");
  for (const token of h.sim.state.tokens.keys()) assert.ok(!all.includes(token), "an access token leaked into the logs");
}
