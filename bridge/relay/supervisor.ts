// The relay's lifecycle and what it reports: start (subscribe to the room link, start the
// workers, join the rooms, start the networks with the sinks), stop (stop taking room messages
// in, drain the outbox for a bounded time, then stop workers and networks), health (/healthz)
// and the gauges, read when the metrics are scraped (never on the hot path).
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import type { MessageSink, NetworkStatus } from "../network.ts";
import type { Outbox } from "../store/outbox.ts";
import type { RoomState } from "../xmpp/types.ts";
import type { RelayGauges, RelayMetrics } from "./metrics.ts";
import type { RoomInbound } from "./room-inbound.ts";
import type { RoomLink } from "./room-link.ts";
import type { Router } from "./router.ts";

export interface RelayHealth {
  ok: boolean;
  networks: Record<string, NetworkStatus>;
  rooms: Record<string, { state: string; reason?: string }>;
  /** dead_letters: per target key, how many messages could not be delivered (only when there are any). */
  outbox: { depth: number; dead_letters?: Record<string, number> };
}

export interface SupervisorDeps {
  router: Router;
  outbox: Outbox;
  link: RoomLink;
  roomInbound: RoomInbound;
  sinkFor(networkId: string): MessageSink;
  logger: Logger;
  metrics?: RelayMetrics;
}

export class Supervisor {
  readonly #d: SupervisorDeps;
  readonly #drainWaiters = new Set<() => void>();
  readonly #onRoom = (s: RoomState) => this.#d.router.rooms.get(s.room)?.session.update(s);
  #stopping = false;
  #started = false;

  constructor(deps: SupervisorDeps) {
    this.#d = deps;
    deps.metrics?.gauges(() => this.gauges());
  }

  /** Subscribes to the room link, joins the rooms, starts the workers and the networks. */
  async start(): Promise<void> {
    if (this.#started) throw new Error("relay already started");
    this.#started = true;
    const { router, link, outbox, logger } = this.#d;
    link.on("message", this.#d.roomInbound.onMessage);
    link.on("room", this.#onRoom);
    for (const w of router.workers.values()) w.start();
    for (const t of router.rooms.values()) t.session.join();
    for (const q of outbox.queued()) {
      if (!router.workers.has(q.target)) logger.warn({ target: q.target, pending: q.n }, "pending messages for a target no bridge sends to any more are kept, not sent");
    }
    await Promise.all(
      [...router.networks()].map(async (net) => {
        const changed = () => {
          for (const g of router.groups.values()) if (g.network === net) g.changed();
        };
        net.onStatus?.(changed);
        await net.start(this.#d.sinkFor(net.id));
        changed();
      }),
    );
  }

  /**
   * Stops relaying: room messages are no longer taken in (the next join's catch-up recovers them;
   * reflections still confirm sends), the outbox drains for up to `drainMs`, then workers and
   * networks stop. A network's sink keeps committing until its network stopped, so what a poll
   * in flight returns is kept. What is still pending stays in the outbox for the next start.
   */
  async stop(drainMs: number): Promise<{ drained: boolean; depth: number }> {
    if (this.#stopping) return { drained: this.depth() === 0, depth: this.depth() };
    this.#stopping = true;
    const { router, link, logger } = this.#d;
    this.#d.roomInbound.stop();
    for (const t of router.rooms.values()) t.session.stop();
    const drained = await this.#drain(drainMs);
    await Promise.all([...router.workers.values()].map((w) => w.stop()));
    await Promise.all([...router.networks()].map((n) => n.stop().catch((err: unknown) => logger.error({ err, network: n.id }, "network stop failed"))));
    link.off("message", this.#d.roomInbound.onMessage);
    link.off("room", this.#onRoom);
    const depth = this.depth();
    logger.info({ drained, depth }, depth ? "relay stopped; pending messages stay in the outbox" : "relay stopped");
    return { drained, depth };
  }

  async #drain(ms: number): Promise<boolean> {
    if (this.depth() === 0) return true;
    const ac = new AbortController();
    let resolveEmpty!: () => void;
    const empty = new Promise<void>((r) => (resolveEmpty = r));
    this.#drainWaiters.add(resolveEmpty);
    try {
      return await Promise.race([empty.then(() => true), delay(ms, false, { signal: ac.signal })]);
    } finally {
      ac.abort();
      this.#drainWaiters.delete(resolveEmpty);
    }
  }

  /** An item settled: a drain may be over. */
  settled(): void {
    if (this.#drainWaiters.size > 0 && this.depth() === 0) for (const w of this.#drainWaiters) w();
  }

  health(): RelayHealth {
    const { router, outbox } = this.#d;
    const networks: Record<string, NetworkStatus> = {};
    for (const g of router.groups.values()) networks[g.network.id] = g.network.status();
    const rooms: Record<string, { state: string; reason?: string }> = {};
    for (const [room, t] of router.rooms) {
      const d = t.describe();
      rooms[room] = d.detail ? { state: d.state, reason: d.detail } : { state: d.state };
    }
    // A group its network cannot send to now (a QQ bot group without a reply window) says how
    // many messages wait for it: the network does not see the outbox.
    const pending = new Map<string, number>();
    for (const q of outbox.queued()) pending.set(q.target, (pending.get(q.target) ?? 0) + q.n);
    for (const g of router.groups.values()) {
      const s = networks[g.network.id];
      if (!s || g.network.ready?.(g.group) !== false) continue;
      const note = `${g.group}: ${pending.get(g.key) ?? 0} queued`;
      networks[g.network.id] = { ...s, detail: s.detail ? `${s.detail}; ${note}` : note };
    }
    const ok = Object.values(networks).every((n) => n.ok) && [...router.rooms.values()].every((t) => t.ready());
    const dead = outbox.deadLetters().filter((d) => router.workers.has(d.target));
    const depth = this.depth();
    return { ok, networks, rooms, outbox: dead.length ? { depth, dead_letters: Object.fromEntries(dead.map((d) => [d.target, d.n])) } : { depth } };
  }

  /** The gauges' reading at scrape time: one GROUP BY for the queues, one for the dead letters. */
  gauges(): RelayGauges {
    const { router, outbox } = this.#d;
    const queued = outbox.queued();
    const counts = new Map(queued.map((q) => [`${q.bridge}\n${q.target}`, q.n]));
    return {
      queued: router.pairs().map((p) => ({ ...p, n: counts.get(`${p.bridge}\n${p.target}`) ?? 0 })),
      depth: this.depth(queued),
      deadLetters: outbox.deadLetters().filter((d) => router.workers.has(d.target)),
      rooms: [...router.rooms.values()].map((t) => ({ room: t.room, state: t.describe().state })),
      networks: [...router.networks()].map((n) => ({ network: n.id, state: n.status().state })),
    };
  }

  /**
   * Pending items of the targets this relay sends to. Items of a target no bridge names any more
   * (the config changed between runs) stay in the outbox for a config that names it again, but
   * no worker sends them: counting them would make health and metrics report a queue forever and
   * every stop wait out its whole drain.
   */
  depth(queued = this.#d.outbox.queued()): number {
    let n = 0;
    for (const q of queued) if (this.#d.router.workers.has(q.target)) n += q.n;
    return n;
  }

  /** The outbox changed outside this relay (pollbridge outbox retry/drop): every worker looks again. */
  wake(): void {
    for (const w of this.#d.router.workers.values()) w.notify();
  }
}
