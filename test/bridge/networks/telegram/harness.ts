// Shared setup for the Telegram adapter tests: a simulator, a temp state dir, an adapter pointed
// at it, a captured debug log, and waits on events (never on the clock).
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { createTelegram, type TelegramOptions } from "../../../../bridge/networks/telegram/index.ts";
import type { NetworkAdapter } from "../../../../bridge/network.ts";
import { startTelegramSim, type TelegramSim, type TelegramSimOptions } from "../../../sim/telegram.ts";
import { adapterTestBed, Inbox, sendError, startOnline, waitForStatus } from "../../../helpers/network.ts";

export { Inbox, sendError, waitForStatus };

export const DEV = "-1001234567890";
export const DEV_TOPIC = "-1001234567890/3";
export const SMALL = "-4242";
export const OTHER_CHAT = -1009876543210;

export const alice = { id: 501, first_name: "Alice", last_name: "Liddell", username: "alice" };
export const bob = { id: 502, first_name: "", username: "bobby" };

export interface Harness {
  sim: TelegramSim;
  stateDir: string;
  logs: string[];
  /** Every token the sim used (a revoked one too): none may appear in a log. */
  tokens: Set<string>;
  adapter(extra?: Partial<TelegramOptions>): NetworkAdapter;
  run(extra?: Partial<TelegramOptions>): Promise<{ adapter: NetworkAdapter; inbox: Inbox }>;
}

export async function harness(t: TestContext, simOpts: TelegramSimOptions = {}): Promise<Harness> {
  const sim = await startTelegramSim(simOpts);
  const { stateDir, logs, logger, track } = await adapterTestBed(t, "telegram-", () => sim.close());
  const h: Harness = {
    sim,
    stateDir,
    logs,
    tokens: new Set([sim.token]),
    adapter(extra = {}) {
      return track(createTelegram({
        id: "tg",
        config: { type: "telegram", token: sim.token, api: sim.url },
        stateDir,
        logger,
        groups: [DEV, DEV_TOPIC, SMALL],
        retry: { retries: 2, minTimeout: 5, maxTimeout: 40 },
        pollTimeoutSeconds: 1,
        ...extra,
      }));
    },
    run: (extra = {}) => startOnline(h.adapter(extra)),
  };
  return h;
}

/** No protocol violation happened and no token appears in any log line. */
export function assertCleanRun(h: Harness): void {
  assert.deepEqual(h.sim.violations, []);
  assertNoTokenInLogs(h);
}

export function assertNoTokenInLogs(h: Harness): void {
  h.tokens.add(h.sim.token);
  const all = h.logs.join("");
  assert.ok(h.logs.length > 0);
  for (const token of h.tokens) {
    assert.ok(!all.includes(token), "the bot token leaked into the logs");
    assert.ok(!all.includes(token.split(":")[1]!), "the secret half of the bot token leaked into the logs");
  }
}
