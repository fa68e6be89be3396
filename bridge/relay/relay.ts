// The relay: every `bridges` entry links one XMPP room with one or more network groups, and a
// message from any of them goes to all the others. Inbound messages are committed to the outbox
// first (the network's sink resolves only after the COMMIT); per-target workers deliver them.
//
// Loops are prevented by identity, never by nick text: room messages flagged `own` by the XMPP
// client or carrying an origin-id of ours are reflections, and a network message flagged `own`,
// or whose id is one a send of ours got back, is our own echo.
//
// Confirmation is one path (#confirm) for both sides: a room's reflection of our origin-id and a
// network's echo of our own send (matched to the target's one unconfirmed item by its text) are
// committed before the message that carried them is acknowledged.
//
// Catch-up: each join asks the room for history since the last message seen (minus a small
// slack), or since the oldest unconfirmed send, whichever is older. Delayed messages are relayed
// once (dedupe by stanza-id/origin-id/id) and marked with their original time:
// "[2026-11-22 10:03 UTC] <nick> text". Delayed is not history: a resumed stream (XEP-0198)
// redelivers what the server queued during the cut with a <delay/> stamp, and a message seen for
// the first time is relayed whatever its stamp. Reflections of our origin-ids in that history
// confirm sends a crash or a disconnect left unconfirmed, before anything is resent.
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/types.ts";
import type { InboundMessage, MessageSink, NetworkAdapter, NetworkStatus } from "../network.ts";
import type { Confirmation, Outbox, NewItem, OutboxItem } from "../store/outbox.ts";
import type { History, RoomMessage, RoomState } from "../xmpp/types.ts";
import { DEFAULT_FORMAT, formatMessage, markLate, withAttachments } from "./format.ts";
import { GroupTarget } from "./group-target.ts";
import type { RelayMetrics } from "./metrics.ts";
import type { RoomLink } from "./room-link.ts";
import { RoomTarget } from "./room-target.ts";
import { splitText } from "./split.ts";
import type { Target } from "./target.ts";
import { groupTargetKey, roomTargetKey } from "./target.ts";
import { TargetWorker, type Backoff, type SettleKind } from "./target-worker.ts";
import { TokenBucket } from "./token-bucket.ts";

export interface RelayOptions {
  bridges: readonly BridgeConfig[];
  outbox: Outbox;
  room: RoomLink;
  networks: ReadonlyMap<string, NetworkAdapter>;
  logger: Logger;
  metrics?: RelayMetrics;
  /** Per target; default 2 per second, burst 5. */
  rate?: { per_second: number; burst: number };
  /** Longest body sent to a room; default 10000. */
  xmppMaxLength?: number;
  /** Retry backoff for failed sends; default 1 s doubling up to 60 s. */
  backoff?: Backoff;
  /** How long a room send waits for its reflection (passed to RoomLink.send). */
  sendTimeout?: number;
  /** Overlap when asking a room for history, covering clock differences; default 5000 ms. */
  catchUpSlackMs?: number;
  /** A network message relayed later than this after its time is marked with its time; default 120000 ms. */
  lateAfterMs?: number;
  /** A group send unanswered this long is taken as maybe delivered (GroupTarget); default 120000 ms. */
  groupSendTimeoutMs?: number;
  /** How long an unconfirmed send to a network with echo evidence waits for its echo; default 15000 ms. */
  echoWindowMs?: number;
  /** relay.dead_letter_after: an item still failing this long after its first failure is a dead letter; default 86400000 ms. */
  deadLetterAfterMs?: number;
  /** relay.dead_letter_notice: announce each dead letter in the bridge's room; default false. */
  deadLetterNotice?: boolean;
  /** Wall clock (ms epoch); tests inject one to age items without waiting. */
  now?: () => number;
}

/** What the relay relays for a message with nothing readable (no text, no attachments). */
export const UNSUPPORTED_MESSAGE = "[unsupported message]";

export interface RelayHealth {
  ok: boolean;
  networks: Record<string, NetworkStatus>;
  rooms: Record<string, { state: string; reason?: string }>;
  /** dead_letters: per target key, how many messages could not be delivered (only when there are any). */
  outbox: { depth: number; dead_letters?: Record<string, number> };
}

type Endpoint = { kind: "room"; room: string; target: RoomTarget } | { kind: "group"; network: string; group: string; target: GroupTarget };

interface Route {
  /** Metrics label: the room JID. */
  name: string;
  format: string;
  endpoints: Endpoint[];
}

interface Source {
  key: string;
  nick: string;
  text: string;
  network: string;
  group: string;
  time: Date;
  late: boolean;
}

export interface RelayEvents {
  /** An item's send had an outcome, or evidence (reflection, echo, history) settled it. */
  settled: [OutboxItem, SettleKind];
}

export class Relay extends EventEmitter<RelayEvents> {
  readonly #o: RelayOptions;
  readonly #log: Logger;
  #routes: Route[] = [];
  #rooms = new Map<string, RoomTarget>();
  #groups = new Map<string, GroupTarget>();
  readonly #workers = new Map<string, TargetWorker>();
  /** What update() / replaceRoomLink() change while running. */
  #bridges: readonly BridgeConfig[];
  #networks: ReadonlyMap<string, NetworkAdapter>;
  #link: RoomLink;
  #rate: { per_second: number; burst: number };
  readonly #drainWaiters = new Set<() => void>();
  /** Rooms being left to be rejoined (see #recheck). */
  readonly #rechecking = new Set<string>();
  readonly #onMessage = (m: RoomMessage) => {
    try {
      this.#roomMessage(m);
    } catch (err) {
      // Not committed (disk full, database locked): the room cannot be asked to redeliver it, so
      // the loss is logged loudly with the message's id rather than thrown into the XMPP client.
      this.#log.error({ err, room: m.room, id: m.stanzaId ?? m.originId ?? m.id }, "could not store a room message");
    }
  };
  readonly #onRoom = (s: RoomState) => this.#roomState(s);
  #stopping = false;
  #started = false;

  constructor(opts: RelayOptions) {
    super();
    this.#o = opts;
    this.#log = opts.logger.child({ component: "relay" });
    this.#bridges = opts.bridges;
    this.#networks = opts.networks;
    this.#link = opts.room;
    this.#rate = opts.rate ?? { per_second: 2, burst: 5 };
    const plan = this.#plan(opts.bridges, opts.networks);
    this.#routes = plan.routes;
    this.#rooms = plan.rooms;
    this.#groups = plan.groups;
    for (const target of [...this.#rooms.values(), ...this.#groups.values()]) this.#workers.set(target.key, this.#worker(target));
  }

  /** Routes and targets for `bridges`; a target that exists already (same room link, same network adapter) is kept. */
  #plan(bridges: readonly BridgeConfig[], networks: ReadonlyMap<string, NetworkAdapter>): { routes: Route[]; rooms: Map<string, RoomTarget>; groups: Map<string, GroupTarget> } {
    const rooms = new Map<string, RoomTarget>();
    const groups = new Map<string, GroupTarget>();
    const routes = bridges.map((b, i) => {
      const room = rooms.get(b.xmpp) ?? this.#rooms.get(b.xmpp) ?? this.#roomTarget(b.xmpp);
      rooms.set(b.xmpp, room);
      const endpoints: Endpoint[] = [{ kind: "room", room: b.xmpp, target: room }];
      b.links.forEach((l, j) => {
        const net = networks.get(l.network);
        if (!net) throw new Error(`bridges[${i}].links[${j}]: no network "${l.network}"`);
        const key = groupTargetKey(net.id, l.group);
        const kept = groups.get(key) ?? this.#groups.get(key);
        const target = kept?.network === net ? kept : this.#groupTarget(net, l.group);
        groups.set(key, target);
        endpoints.push({ kind: "group", network: l.network, group: l.group, target });
      });
      return { name: b.xmpp, format: b.format || DEFAULT_FORMAT, endpoints };
    });
    return { routes, rooms, groups };
  }

  #worker(target: Target): TargetWorker {
    const opts = this.#o;
    return new TargetWorker({
      target,
      outbox: opts.outbox,
      bucket: new TokenBucket({ perSecond: this.#rate.per_second, burst: this.#rate.burst }),
      backoff: opts.backoff ?? { min: 1000, max: 60_000 },
      logger: this.#log,
      now: opts.now ?? Date.now,
      deadLetterAfterMs: opts.deadLetterAfterMs ?? 86_400_000,
      onSettled: (item, kind, info) => this.#settled(item, kind, info),
    });
  }

  #roomTarget(room: string): RoomTarget {
    return new RoomTarget({
      room,
      link: this.#link,
      maxLength: this.#o.xmppMaxLength ?? 10_000,
      sendTimeout: this.#o.sendTimeout,
      recheck: () => this.#recheck(room),
    });
  }

  #groupTarget(net: NetworkAdapter, group: string): GroupTarget {
    return new GroupTarget(net, group, { echoWindowMs: this.#o.echoWindowMs, historySlackMs: this.#o.catchUpSlackMs, sendTimeoutMs: this.#o.groupSendTimeoutMs });
  }

  /** Subscribes to the room link, joins the rooms, starts the workers and the networks. */
  async start(): Promise<void> {
    if (this.#started) throw new Error("relay already started");
    this.#started = true;
    const link = this.#link;
    link.on("message", this.#onMessage);
    link.on("room", this.#onRoom);
    for (const w of this.#workers.values()) w.start();
    for (const room of this.#rooms.keys()) this.#join(room);
    for (const q of this.#o.outbox.queued()) {
      if (!this.#workers.has(q.target)) this.#log.warn({ target: q.target, pending: q.n }, "pending messages for a target no bridge sends to any more are kept, not sent");
    }
    this.#report();
    await Promise.all([...this.#usedNetworks()].map((net) => this.#startNetwork(net)));
  }

  #usedNetworks(): Set<NetworkAdapter> {
    return new Set([...this.#groups.values()].map((g) => g.network));
  }

  async #startNetwork(net: NetworkAdapter): Promise<void> {
    net.onStatus?.(() => {
      for (const g of this.#groups.values()) if (g.network === net) g.changed();
    });
    await net.start(this.sinkFor(net.id));
    for (const g of this.#groups.values()) if (g.network === net) g.changed();
  }

  /**
   * Applies new bridges, rate limits and network adapters while running (a reload). Routes change
   * at once, for the next message taken in. A target that goes away, or whose network adapter is
   * replaced (its network restarts), first lets its worker settle the send in flight; only then
   * does its replacement's worker start, so an item is never sent by two workers. An adapter no
   * route uses any more is stopped, a new one started. Rooms added are joined, rooms removed left.
   * Pending items of a target no bridge names stay in the outbox, unsent.
   */
  async update(next: { bridges: readonly BridgeConfig[]; networks: ReadonlyMap<string, NetworkAdapter>; rate?: { per_second: number; burst: number } }): Promise<void> {
    if (!this.#started || this.#stopping) throw new Error("relay not running");
    const rate = next.rate ?? { per_second: 2, burst: 5 };
    const rateChanged = rate.per_second !== this.#rate.per_second || rate.burst !== this.#rate.burst;
    const plan = this.#plan(next.bridges, next.networks);
    const oldRooms = this.#rooms;
    const oldPasswords = new Map(this.#bridges.map((b) => [b.xmpp, b.room_password]));
    const oldNets = this.#usedNetworks();
    const kept = new Set<Target>([...plan.rooms.values(), ...plan.groups.values()]);
    const retired = [...this.#workers.values()].filter((w) => rateChanged || !kept.has(w.target));
    this.#routes = plan.routes;
    this.#rooms = plan.rooms;
    this.#groups = plan.groups;
    this.#bridges = next.bridges;
    this.#networks = next.networks;
    this.#rate = rate;
    for (const w of retired) this.#workers.delete(w.target.key);
    await Promise.all(retired.map((w) => w.stop()));
    const nets = this.#usedNetworks();
    await Promise.all([...oldNets].filter((n) => !nets.has(n)).map((n) => n.stop().catch((err: unknown) => this.#log.error({ err, network: n.id }, "network stop failed"))));
    if (this.#stopping) return; // stop() took over: it stops what is running
    for (const t of kept) {
      if (this.#workers.has(t.key)) continue;
      const w = this.#worker(t);
      this.#workers.set(t.key, w);
      w.start();
    }
    for (const room of plan.rooms.keys()) {
      const password = next.bridges.find((b) => b.xmpp === room && b.room_password)?.room_password;
      if (!oldRooms.has(room) || oldPasswords.get(room) !== password) this.#join(room);
    }
    await Promise.all(
      [...oldRooms.keys()].filter((room) => !plan.rooms.has(room)).map((room) => this.#link.leave(room).catch((err: unknown) => this.#log.warn({ err, room }, "leaving a room no bridge names any more failed"))),
    );
    this.#report();
    await Promise.all([...nets].filter((n) => !oldNets.has(n)).map((n) => this.#startNetwork(n)));
  }

  /**
   * Moves the rooms to another XMPP client (a reload changed the account). The room workers
   * settle their sends in flight and stop; `retire` then stops the old client (it leaves the
   * rooms); the new client's joins catch up on what was said meanwhile, and their history
   * settles any send the old client left unconfirmed before it is resent.
   */
  async replaceRoomLink(next: RoomLink, retire: () => Promise<void>): Promise<void> {
    if (!this.#started || this.#stopping) throw new Error("relay not running");
    const roomWorkers = [...this.#rooms.values()].map((t) => this.#workers.get(t.key)).filter((w) => w !== undefined);
    for (const w of roomWorkers) this.#workers.delete(w.target.key);
    await Promise.all(roomWorkers.map((w) => w.stop()));
    this.#link.off("message", this.#onMessage);
    this.#link.off("room", this.#onRoom);
    await retire();
    this.#link = next;
    if (this.#stopping) return;
    this.#rooms = new Map();
    const plan = this.#plan(this.#bridges, this.#networks);
    this.#routes = plan.routes;
    this.#rooms = plan.rooms;
    next.on("message", this.#onMessage);
    next.on("room", this.#onRoom);
    for (const t of plan.rooms.values()) {
      const w = this.#worker(t);
      this.#workers.set(t.key, w);
      w.start();
    }
    for (const room of plan.rooms.keys()) this.#join(room);
    this.#report();
  }

  #join(room: string): void {
    const password = this.#bridges.find((b) => b.xmpp === room && b.room_password)?.room_password;
    this.#link.join(room, { password, history: () => this.#historyFor(room) });
  }

  /** Leaves and rejoins a room: the join's history (asked since the oldest attempt) settles unconfirmed sends. */
  #recheck(room: string): void {
    if (this.#stopping || this.#rechecking.has(room)) return;
    this.#rechecking.add(room);
    this.#log.warn({ room }, "a send was not confirmed while the room stayed joined: rejoining to check its history");
    this.#link
      .leave(room)
      .catch((err: unknown) => this.#log.warn({ err, room }, "leaving the room to rejoin it failed"))
      .finally(() => {
        this.#rechecking.delete(room);
        if (!this.#stopping) this.#join(room);
      });
  }

  /**
   * Stops relaying: room messages are no longer taken in (the next join's catch-up recovers them;
   * reflections still confirm sends), the outbox drains for up to `drainMs`, then workers and
   * networks stop. A network's sink keeps committing until its network stopped, so what a poll
   * in flight returns is kept. What is still pending stays in the outbox for the next start.
   */
  async stop(drainMs: number): Promise<{ drained: boolean; depth: number }> {
    if (this.#stopping) return { drained: this.#depth() === 0, depth: this.#depth() };
    this.#stopping = true;
    const drained = await this.#drain(drainMs);
    await Promise.all([...this.#workers.values()].map((w) => w.stop()));
    await Promise.all([...this.#usedNetworks()].map((n) => n.stop().catch((err: unknown) => this.#log.error({ err, network: n.id }, "network stop failed"))));
    this.#link.off("message", this.#onMessage);
    this.#link.off("room", this.#onRoom);
    const depth = this.#depth();
    this.#log.info({ drained, depth }, depth ? "relay stopped; pending messages stay in the outbox" : "relay stopped");
    return { drained, depth };
  }

  async #drain(ms: number): Promise<boolean> {
    if (this.#depth() === 0) return true;
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

  health(): RelayHealth {
    const networks: Record<string, NetworkStatus> = {};
    for (const g of this.#groups.values()) networks[g.network.id] = g.network.status();
    const rooms: Record<string, { state: string; reason?: string }> = {};
    for (const [room, t] of this.#rooms) {
      const d = t.describe();
      rooms[room] = d.detail ? { state: d.state, reason: d.detail } : { state: d.state };
    }
    // A group its network cannot send to now (a QQ bot group without a reply window) says how
    // many messages wait for it: the network does not see the outbox.
    const pending = new Map<string, number>();
    for (const q of this.#o.outbox.queued()) pending.set(q.target, (pending.get(q.target) ?? 0) + q.n);
    for (const g of this.#groups.values()) {
      const s = networks[g.network.id];
      if (!s || g.network.ready?.(g.group) !== false) continue;
      const note = `${g.group}: ${pending.get(g.key) ?? 0} queued`;
      networks[g.network.id] = { ...s, detail: s.detail ? `${s.detail}; ${note}` : note };
    }
    const ok = Object.values(networks).every((n) => n.ok) && [...this.#rooms.values()].every((t) => t.ready());
    const dead = this.#o.outbox.deadLetters().filter((d) => this.#workers.has(d.target));
    const outbox = dead.length ? { depth: this.#depth(), dead_letters: Object.fromEntries(dead.map((d) => [d.target, d.n])) } : { depth: this.#depth() };
    return { ok, networks, rooms, outbox };
  }

  /** The sink a network delivers inbound messages to: resolves once they are committed. */
  sinkFor(networkId: string): MessageSink {
    return async (msg: InboundMessage) => {
      const sourceTarget = groupTargetKey(networkId, msg.group);
      if (this.#o.outbox.sentAs(sourceTarget, msg.id)) return; // a late echo of a confirmed send
      if (msg.own) {
        // Never relayed; evidence for the target's unconfirmed send (committed before we return).
        if (!this.#confirm({ target: sourceTarget, text: msg.text, resultId: msg.id }, "echo")) {
          this.#log.debug({ network: networkId, group: msg.group, id: msg.id }, "own message matches no unconfirmed send; not relayed");
        }
        return;
      }
      const lateAfter = this.#o.lateAfterMs ?? 120_000;
      const text = withAttachments(msg.text, msg.attachments);
      this.#accept(
        (e) => e.kind === "group" && e.network === networkId && e.group === msg.group,
        {
          key: `net:${networkId}:${msg.id}`,
          nick: msg.senderName,
          // Something was said that we cannot render (a sticker, a voice clip): say so rather than
          // relay an empty line or nothing at all.
          text: text.trim() === "" ? UNSUPPORTED_MESSAGE : text,
          network: networkId,
          group: msg.group,
          time: msg.time,
          late: Date.now() - msg.time.getTime() > lateAfter,
        },
      );
    };
  }

  #historyFor(room: string): History {
    const { outbox } = this.#o;
    const last = outbox.lastSeen(room)?.getTime();
    // A first join takes no history: everything said from now on is ours to relay, so a room
    // that stays quiet until we lose it still gets its catch-up on the next join.
    if (last === undefined) outbox.setLastSeen(room, new Date());
    const attempt = outbox.oldestAttempt(roomTargetKey(room));
    const bounds = [last, attempt].filter((t): t is number => t !== undefined);
    if (bounds.length === 0) return { maxstanzas: 0 };
    return { since: new Date(Math.min(...bounds) - (this.#o.catchUpSlackMs ?? 5000)) };
  }

  #roomState(s: RoomState): void {
    const t = this.#rooms.get(s.room);
    if (!t) return;
    if (s.state === "failed") this.#log.error({ room: s.room, reason: s.reason }, "room join failed");
    else this.#log.info({ room: s.room, state: s.state }, "room state");
    t.update(s);
  }

  #roomMessage(m: RoomMessage): void {
    const { outbox } = this.#o;
    if (m.originId) {
      if (this.#confirm({ originId: m.originId }, "reflection")) return;
      if (outbox.byOriginId(m.originId)) return; // ours, confirmed before
    }
    if (this.#stopping || !this.#rooms.has(m.room)) return;
    if (m.own) {
      if (!m.delayed) outbox.setLastSeen(m.room, m.time);
      return;
    }
    if (m.body.trim() === "") return;
    this.#accept((e) => e.kind === "room" && e.room === m.room, {
      key: `xmpp:${m.room}:${roomMessageId(m)}`,
      nick: m.nick,
      text: m.replaces ? `(edit) ${m.body}` : m.body,
      network: "xmpp",
      group: m.room,
      time: m.delayed ?? m.time,
      late: m.delayed !== undefined,
    }, { room: m.room, time: m.delayed ?? m.time });
  }

  /** Commits one inbound message for every other endpoint of every route that contains its source. */
  #accept(isSource: (e: Endpoint) => boolean, src: Source, roomSeen?: { room: string; time: Date }): void {
    const items: NewItem[] = [];
    for (const route of this.#routes) {
      if (!route.endpoints.some(isSource)) continue;
      let line = formatMessage(route.format, src);
      if (src.late) line = markLate(line, src.time);
      for (const e of route.endpoints) {
        if (isSource(e)) continue;
        for (const part of splitText(line, e.target.maxLength)) {
          if (part.trim() !== "") items.push({ bridge: route.name, target: e.target.key, text: part, sender: src.nick });
        }
      }
    }
    if (items.length === 0 && !roomSeen) {
      this.#log.debug({ network: src.network, group: src.group }, "message from an unbridged group ignored");
      return;
    }
    const accepted = this.#o.outbox.accept({ sourceKey: src.key, items, roomSeen });
    if (accepted === null) {
      this.#log.debug({ source: src.key }, "redelivered message ignored");
      return;
    }
    for (const target of new Set(accepted.map((i) => i.target))) this.#workers.get(target)?.notify();
    this.#report();
  }

  /** The one confirmation path: commits it, then tells the item's worker to move on. */
  #confirm(c: Confirmation, how: "reflection" | "echo"): OutboxItem | undefined {
    const item = this.#o.outbox.confirm(c);
    if (!item) return undefined;
    this.#log.debug({ target: item.target, item: item.id, originId: item.originId, how }, "confirmed a send");
    this.#settled(item, "delivered", { changed: true });
    this.#workers.get(item.target)?.notify();
    return item;
  }

  #settled(item: OutboxItem, kind: SettleKind, info: { changed: boolean; error?: string }): void {
    const m = this.#o.metrics;
    if (info.changed && kind === "delivered") m?.relayed(item.bridge, item.target);
    if (kind === "resent-unconfirmed") m?.resentUnconfirmed(this.#groups.get(item.target)?.network.id ?? item.target);
    if (info.changed && kind === "dead-letter") {
      m?.failed(item.bridge, item.target);
      this.#log.error({ target: item.target, item: item.id, sender: item.sender, error: info.error }, "dead letter: the message could not be delivered; kept in the outbox as failed");
      if (this.#o.deadLetterNotice) this.#announce(item, info.error ?? "unknown error");
    }
    this.#report();
    this.emit("settled", item, kind);
    if (this.#drainWaiters.size > 0 && this.#depth() === 0) for (const w of this.#drainWaiters) w();
  }

  /** relay.dead_letter_notice: tells the bridge's room, through the outbox like any message. */
  #announce(item: OutboxItem, reason: string): void {
    const room = item.bridge;
    if (item.target === roomTargetKey(room) || !this.#rooms.has(room)) return; // the room itself is what failed
    const where = item.target.startsWith("net:") ? item.target.slice(4) : item.target;
    const who = item.sender ? `${item.sender}'s message` : "a message";
    const text = `could not deliver ${who} to ${where}: ${reason}`;
    const target = roomTargetKey(room);
    const items = splitText(text, this.#rooms.get(room)!.maxLength).map((part) => ({ bridge: room, target, text: part }));
    const accepted = this.#o.outbox.accept({ sourceKey: `dead-letter:${item.originId}`, items });
    if (accepted?.length) this.#workers.get(target)?.notify();
  }

  #report(): void {
    const m = this.#o.metrics;
    if (!m) return;
    const queued = this.#o.outbox.queued();
    m.setOutboxDepth(this.#depth(queued));
    const counts = new Map(queued.map((q) => [`${q.bridge}\n${q.target}`, q.n]));
    for (const r of this.#routes) for (const e of r.endpoints) m.setQueued(r.name, e.target.key, counts.get(`${r.name}\n${e.target.key}`) ?? 0);
  }

  /**
   * Pending items of the targets this relay sends to. Items of a target no bridge names any more
   * (the config changed between runs) stay in the outbox for a config that names it again, but
   * no worker sends them: counting them would make health and metrics report a queue forever and
   * every stop wait out its whole drain.
   */
  #depth(queued = this.#o.outbox.queued()): number {
    let n = 0;
    for (const q of queued) if (this.#workers.has(q.target)) n += q.n;
    return n;
  }

  /** The outbox changed outside this relay (pollbridge outbox retry/drop): every worker looks again. */
  wake(): void {
    for (const w of this.#workers.values()) w.notify();
    this.#report();
  }

  /** For tests and logs: the targets by key. */
  targets(): Target[] {
    return [...this.#rooms.values(), ...this.#groups.values()];
  }
}

/** Identity of a room message, stable between its live delivery and its history replay. */
function roomMessageId(m: RoomMessage): string {
  if (m.stanzaId) return `sid:${m.stanzaId}`;
  if (m.originId) return `oid:${m.originId}`;
  if (m.id) return `id:${m.nick}:${m.id}`;
  const h = createHash("sha256").update(`${m.nick}\n${m.body}\n${(m.delayed ?? m.time).toISOString()}`).digest("base64url");
  return `h:${h.slice(0, 22)}`;
}
