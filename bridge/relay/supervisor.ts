// The relay's lifecycle and what it reports: start (subscribe to the room link, start the
// workers, join the rooms, start the networks with the sinks), stop (stop taking room messages
// in, drain the outbox for a bounded time, then stop workers and networks), health (/healthz)
// and the gauges, read when the metrics are scraped (never on the hot path).
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/types.ts";
import type { MessageSink, NetworkAdapter, NetworkStatus } from "../network.ts";
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
    const { router, outbox, logger } = this.#d;
    const link = router.link;
    link.on("message", this.#d.roomInbound.onMessage);
    link.on("room", this.#onRoom);
    for (const w of router.workers.values()) w.start();
    for (const t of router.rooms.values()) t.session.join();
    for (const q of outbox.queued()) {
      if (!router.workers.has(q.target)) logger.warn({ target: q.target, pending: q.n }, "pending messages for a target no bridge sends to any more are kept, not sent");
    }
    await Promise.all([...router.networks()].map((net) => this.#startNetwork(net)));
  }

  async #startNetwork(net: NetworkAdapter): Promise<void> {
    const { router } = this.#d;
    const changed = () => {
      for (const g of router.groups.values()) if (g.network === net) g.changed();
    };
    net.onStatus?.(changed);
    await net.start(this.#d.sinkFor(net.id));
    changed();
  }

  async #stopNetworks(nets: Iterable<NetworkAdapter>): Promise<void> {
    await Promise.all([...nets].map((n) => n.stop().catch((err: unknown) => this.#d.logger.error({ err, network: n.id }, "network stop failed"))));
  }

  /**
   * A reload: new bridges, network adapters or rate limits while running. The routes change at
   * once (Router.reconfigure); the workers of targets that went away or were replaced settle
   * their send in flight and stop; only then do adapters no route uses any more stop and the new
   * targets' workers start, so an item is never sent twice at once and a network's new adapter
   * never runs beside its old one. Rooms added are joined, rooms removed left; new adapters start.
   * What waits for a restarted target meanwhile waits in the outbox.
   */
  async update(next: { bridges: readonly BridgeConfig[]; networks: ReadonlyMap<string, NetworkAdapter>; rate?: { per_second: number; burst: number } }): Promise<void> {
    if (!this.#started || this.#stopping) throw new Error("relay not running");
    const { router, logger } = this.#d;
    const netsBefore = router.networks();
    const change = router.reconfigure(next);
    for (const t of change.roomsGone) t.session.stop();
    await Promise.all(change.retired.map((w) => w.stop()));
    const nets = router.networks();
    await this.#stopNetworks([...netsBefore].filter((n) => !nets.has(n)));
    if (this.#stopping) return; // stop() took over: it stops what runs
    change.startWorkers();
    for (const t of [...change.roomsNew, ...change.roomsRepassworded]) t.session.join();
    await Promise.all(
      change.roomsGone.map((t) => router.link.leave(t.room).catch((err: unknown) => logger.warn({ err, room: t.room }, "leaving a room no bridge names any more failed"))),
    );
    await Promise.all([...nets].filter((n) => !netsBefore.has(n)).map((n) => this.#startNetwork(n)));
  }

  /**
   * A reload changed the XMPP account: the rooms move to a new client. The room workers settle
   * their sends in flight and stop; `retire` stops the old client (it leaves the rooms); the new
   * client's joins catch up on what the rooms said meanwhile, and their history settles any send
   * the old client left unconfirmed before it is resent (RoomTarget.check).
   */
  async replaceRoomLink(link: RoomLink, retire: () => Promise<void>, xmppMaxLength?: number): Promise<void> {
    if (!this.#started || this.#stopping) throw new Error("relay not running");
    const { router, roomInbound } = this.#d;
    const old = router.link;
    const change = router.reconfigure({ link, xmppMaxLength });
    // The old client's room states are not the new sessions' (a join counted there would let a
    // send be resent before the new join's history could confirm it); its messages still confirm
    // the sends in flight, until it stops.
    old.off("room", this.#onRoom);
    for (const t of change.roomsGone) t.session.stop();
    await Promise.all(change.retired.map((w) => w.stop()));
    old.off("message", roomInbound.onMessage);
    await retire();
    link.on("message", roomInbound.onMessage);
    link.on("room", this.#onRoom);
    if (this.#stopping) return;
    change.startWorkers();
    for (const t of change.roomsNew) t.session.join();
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
    const { router, logger } = this.#d;
    const link = router.link;
    this.#d.roomInbound.stop();
    for (const t of router.rooms.values()) t.session.stop();
    const drained = await this.#drain(drainMs);
    await Promise.all([...router.workers.values()].map((w) => w.stop()));
    await this.#stopNetworks(router.networks());
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
