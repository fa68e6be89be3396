// A relay wired to an in-memory room and memory networks over a real SQLite outbox in a temp dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { BridgeConfig } from "../../../bridge/config/types.ts";
import type { NetworkAdapter } from "../../../bridge/network.ts";
import type { RelayGauges, RelayMetrics } from "../../../bridge/relay/metrics.ts";
import { Relay, type RelayOptions } from "../../../bridge/relay/relay.ts";
import type { SettleKind } from "../../../bridge/relay/target-worker.ts";
import { Outbox, type OutboxItem } from "../../../bridge/store/outbox.ts";
import { MemoryNetwork, type Features } from "../../helpers/memory-network.ts";
import { MemoryMuc, MemoryRoomLink } from "./memory-room.ts";

export const ROOM = "dev@conference.localhost";

export interface Harness {
  dir: string;
  dbPath: string;
  outbox: Outbox;
  muc: MemoryMuc;
  link: MemoryRoomLink;
  qq: MemoryNetwork;
  tg: MemoryNetwork;
  relay: Relay;
  metrics: RecordingMetrics;
}

export class RecordingMetrics implements RelayMetrics {
  readonly relayedBy = new Map<string, number>();
  readonly failedBy = new Map<string, number>();
  readonly resentBy = new Map<string, number>();
  #read: (() => RelayGauges) | undefined;
  relayed(bridge: string, target: string): void {
    this.relayedBy.set(`${bridge} ${target}`, (this.relayedBy.get(`${bridge} ${target}`) ?? 0) + 1);
  }
  failed(bridge: string, target: string): void {
    this.failedBy.set(`${bridge} ${target}`, (this.failedBy.get(`${bridge} ${target}`) ?? 0) + 1);
  }
  resentUnconfirmed(network: string): void {
    this.resentBy.set(network, (this.resentBy.get(network) ?? 0) + 1);
  }
  gauges(read: () => RelayGauges): void {
    this.#read = read;
  }
  /** The gauges as a scrape now would read them. */
  scrape(): RelayGauges {
    if (!this.#read) throw new Error("the relay registered no gauges");
    return this.#read();
  }
  /** Queued per "bridge target", from a scrape now. */
  get queued(): Map<string, number> {
    return new Map(this.scrape().queued.map((q) => [`${q.bridge} ${q.target}`, q.n]));
  }
  get depth(): number {
    return this.scrape().depth;
  }
}

type TestContext = { after(fn: () => unknown): void };

export interface HarnessOptions {
  format?: string;
  qqMax?: number;
  qqOnline?: boolean;
  /** qq does not implement onStatus (it is optional in NetworkAdapter). */
  qqWithoutStatusEvents?: boolean;
  /** Reuse a database (restart scenarios). */
  dir?: string;
  muc?: MemoryMuc;
  /** Go online (join) right after start; default true. */
  online?: boolean;
  relay?: Partial<RelayOptions>;
  /** What tg (the network most tests fault) can prove about its sends. */
  tgEvidence?: { echo?: boolean; history?: boolean };
  /** What each network does natively (rich messages); default nothing. */
  qqFeatures?: Features;
  tgFeatures?: Features;
}

export async function startHarness(t: TestContext, opts: HarnessOptions = {}): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "pb-relay-"));
  const dbPath = join(dir, "outbox.sqlite");
  const outbox = new Outbox(dbPath);
  const muc = opts.muc ?? new MemoryMuc();
  const link = new MemoryRoomLink(muc, "bridge");
  const qq = new MemoryNetwork({ id: "qq", groups: ["Dev"], maxMessageLength: opts.qqMax, online: opts.qqOnline, features: opts.qqFeatures });
  if (opts.qqWithoutStatusEvents) Object.defineProperty(qq, "onStatus", { value: undefined });
  const tg = new MemoryNetwork({ id: "tg", groups: ["G1"], evidence: opts.tgEvidence, features: opts.tgFeatures });
  const bridges: BridgeConfig[] = [
    { xmpp: ROOM, format: opts.format ?? "<{nick}> {text}", links: [{ network: "qq", group: "Dev" }, { network: "tg", group: "G1" }] },
  ];
  const metrics = new RecordingMetrics();
  let relay: Relay;
  try {
    relay = new Relay({
    bridges,
    outbox,
    room: link,
    networks: new Map<string, NetworkAdapter>([["qq", qq], ["tg", tg]]),
    logger: pino({ level: "silent" }),
    metrics,
    rate: { per_second: 10_000, burst: 10_000 },
    backoff: { min: 1, max: 4 },
    ...opts.relay,
  });
  } catch (err) {
    outbox.close();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const h: Harness = { dir, dbPath, outbox, muc, link, qq, tg, relay, metrics };
  t.after(async () => {
    await stopHarness(h);
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  });
  await relay.start();
  if (opts.online ?? true) link.goOnline();
  return h;
}

const stopped = new WeakSet<Harness>();

/** Stops the relay (no drain) and closes the outbox: what a crash leaves behind, minus the kill. */
export async function stopHarness(h: Harness): Promise<void> {
  if (stopped.has(h)) return;
  stopped.add(h);
  h.qq.release();
  h.tg.release();
  await h.relay.stop(0);
  h.outbox.close();
}

/** Resolves with the next item settled with this outcome. */
export function settled(relay: Relay, kind: SettleKind, match: (item: OutboxItem) => boolean = () => true): Promise<OutboxItem> {
  return new Promise((resolve) => {
    const on = (item: OutboxItem, k: SettleKind) => {
      if (k !== kind || !match(item)) return;
      relay.off("settled", on);
      resolve(item);
    };
    relay.on("settled", on);
  });
}
