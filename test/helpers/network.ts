// What every network adapter test needs, whatever the network: a collecting sink (Inbox), waits on
// status changes, a SendError catcher, a captured debug log, and a temp state dir with cleanup.
// Waits are on events, never on the clock.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import pino, { type Logger } from "pino";
import { SendError, type InboundMessage, type NetworkAdapter, type NetworkStatus } from "../../bridge/network.ts";

/** Received messages, with a wait for the n-th. */
export class Inbox {
  readonly messages: InboundMessage[] = [];
  private waiters: (() => void)[] = [];
  /** When set, the sink throws this many times before accepting. */
  failNext = 0;
  /** How many times the sink threw. */
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

/** Starts the adapter with a fresh Inbox as its sink; resolves once it is online. */
export async function startOnline<A extends NetworkAdapter>(adapter: A): Promise<{ adapter: A; inbox: Inbox }> {
  const inbox = new Inbox();
  const online = waitForStatus(adapter, "online");
  await adapter.start(inbox.sink);
  await online;
  return { adapter, inbox };
}

/** The SendError `p` rejects with (failing the test when it resolves or rejects otherwise); with `kind`, asserts its kind. */
export async function sendError(p: Promise<unknown>, kind?: SendError["kind"]): Promise<SendError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SendError, `not a SendError: ${String(err)}`);
    if (kind !== undefined) assert.equal(err.kind, kind, err.message);
    return err;
  }
  assert.fail("send resolved");
}

/** A debug-level logger whose every line is kept (for the no-secret-in-logs checks). */
export function captureLogs(): { logs: string[]; logger: Logger } {
  const logs: string[] = [];
  return { logs, logger: pino({ level: "debug" }, { write: (line: string) => void logs.push(line) }) };
}

export interface AdapterTestBed {
  /** A fresh temp dir, removed after the test. */
  stateDir: string;
  logs: string[];
  logger: Logger;
  /** Registers an adapter to stop after the test; returns it. */
  track<A extends NetworkAdapter>(adapter: A): A;
}

/** Captured logs and a temp state dir; after the test: adapters stopped, then `closeSim`, then the dir removed. */
export async function adapterTestBed(t: TestContext, prefix: string, closeSim: () => Promise<void>): Promise<AdapterTestBed> {
  const stateDir = await mkdtemp(join(tmpdir(), prefix));
  const { logs, logger } = captureLogs();
  const adapters: NetworkAdapter[] = [];
  t.after(async () => {
    for (const a of adapters) await a.stop();
    await closeSim();
    await rm(stateDir, { recursive: true, force: true });
  });
  return {
    stateDir,
    logs,
    logger,
    track(adapter) {
      adapters.push(adapter);
      return adapter;
    },
  };
}
