// The router: every `bridges` entry links one XMPP room with one or more network groups, and a
// message from any of them goes to all the others. Built once from the config, it holds each
// target (a room, or one group of one network), the outbox worker that sends to it, and the
// routes; it maps a source to the lines its targets get: formatted with the bridge's template,
// marked with their time when late, and split to what one send to the target may carry.
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/types.ts";
import type { NetworkAdapter } from "../network.ts";
import type { NewItem } from "../store/outbox.ts";
import { DEFAULT_FORMAT, formatMessage, markLate } from "./format.ts";
import { richItems, type Caps, type Rich } from "./rich-items.ts";

/** relay.media_max_bytes default: 10 MB. */
export const DEFAULT_MEDIA_MAX_BYTES = 10 * 1024 * 1024;
import { GroupTarget } from "./group-target.ts";
import type { RelayOptions } from "./relay.ts";
import type { RoomLink } from "./room-link.ts";
import { RoomTarget } from "./room-target.ts";
import type { Confirm } from "./settlement.ts";
import { splitText } from "./split.ts";
import { groupTargetKey, type Target } from "./target.ts";
import { TargetWorker, type WorkerDeps } from "./target-worker.ts";
import { TokenBucket } from "./token-bucket.ts";

/** Where a message was said. */
export type Source = { kind: "room"; room: string } | { kind: "group"; network: string; group: string };

/** What was said, as the router formats it. */
export interface Said {
  nick: string;
  text: string;
  /** `{network}` / `{group}` of the template ("xmpp" and the room for a room message). */
  network: string;
  group: string;
  time: Date;
  /** Marked with its time ("[2026-11-22 10:03 UTC] <nick> text"). */
  late: boolean;
}

type Endpoint = { source: Source; target: RoomTarget | GroupTarget };

interface Route {
  /** The bridge's name in the outbox and in metrics: its room JID. */
  name: string;
  format: string;
  endpoints: Endpoint[];
}

export interface RouterHooks {
  /** The relay's one confirmation path (room reflections). */
  confirm: Confirm;
  /** A worker settled an item. */
  onSettled: WorkerDeps["onSettled"];
}

const DEFAULT_RATE = { per_second: 2, burst: 5 };

function replaceAll<K, V>(map: Map<K, V>, next: Map<K, V>): void {
  map.clear();
  for (const [k, v] of next) map.set(k, v);
}

function sameSource(a: Source, b: Source): boolean {
  if (a.kind === "room") return b.kind === "room" && a.room === b.room;
  return b.kind === "group" && a.network === b.network && a.group === b.group;
}

/** What a reconfiguration changes (Router.reconfigure). */
export interface Reconfigured {
  /** Workers of targets that went away or were replaced: stop each (it settles its send in flight) before startWorkers(). */
  retired: TargetWorker[];
  /** Room targets no longer used (removed rooms, or all of them after a link change). */
  roomsGone: RoomTarget[];
  /** Room targets new to the router: to be joined. */
  roomsNew: RoomTarget[];
  /** Rooms kept whose password changed: to be joined again with it. */
  roomsRepassworded: RoomTarget[];
  /** Starts a worker for every target without one; call once the retired workers stopped. */
  startWorkers(): TargetWorker[];
}

export interface RouterConfig {
  bridges: readonly BridgeConfig[];
  networks: ReadonlyMap<string, NetworkAdapter>;
  rate?: { per_second: number; burst: number };
  link: RoomLink;
  /** Longest body sent to a room (xmpp.max_message_length); default 10000. */
  xmppMaxLength?: number;
}

export class Router {
  /** Room targets by room JID. */
  readonly rooms = new Map<string, RoomTarget>();
  /** Group targets by target key. */
  readonly groups = new Map<string, GroupTarget>();
  /** One worker per target, by target key. */
  readonly workers = new Map<string, TargetWorker>();
  #routes: Route[] = [];
  readonly #opts: RelayOptions;
  readonly #log: Logger;
  readonly #hooks: RouterHooks;
  #config: RouterConfig;

  constructor(opts: RelayOptions, log: Logger, hooks: RouterHooks) {
    this.#opts = opts;
    this.#log = log;
    this.#hooks = hooks;
    this.#config = { bridges: opts.bridges, networks: opts.networks, rate: opts.rate, link: opts.room, xmppMaxLength: opts.xmppMaxLength };
    this.#commit(this.#build(this.#config));
    this.#startWorkers(false);
  }

  /** The room link the room targets send through. */
  get link(): RoomLink {
    return this.#config.link;
  }

  /**
   * Switches to a new config (a reload): the routes change at once, for the next message taken
   * in. A target is kept when it is the same (same room on the same link, same group on the same
   * network adapter); its worker too, unless the rate changed. Workers of the targets that went
   * away or were replaced are handed back to be stopped; the replacements' workers start only
   * with startWorkers(), so that no item is ever sent by two workers at once.
   */
  reconfigure(next: Partial<RouterConfig>): Reconfigured {
    const before = this.#config;
    const config = { ...before, ...next };
    const rate = (c: RouterConfig) => c.rate ?? DEFAULT_RATE;
    const rateChanged = rate(before).per_second !== rate(config).per_second || rate(before).burst !== rate(config).burst;
    const oldRooms = new Map(this.rooms);
    const oldPasswords = new Map(before.bridges.map((b) => [b.xmpp, b.room_password]));
    const built = this.#build(config); // throws (changing nothing) when a bridge names an unknown network
    this.#config = config;
    this.#commit(built);
    const kept = new Set<Target>([...this.rooms.values(), ...this.groups.values()]);
    const retired = [...this.workers.values()].filter((w) => rateChanged || !kept.has(w.target));
    for (const w of retired) this.workers.delete(w.target.key);
    const password = (room: string) => config.bridges.find((b) => b.xmpp === room)?.room_password;
    return {
      retired,
      roomsGone: [...oldRooms.values()].filter((t) => this.rooms.get(t.room) !== t),
      roomsNew: [...this.rooms.values()].filter((t) => oldRooms.get(t.room) !== t),
      roomsRepassworded: [...this.rooms.values()].filter((t) => oldRooms.get(t.room) === t && oldPasswords.get(t.room) !== password(t.room)),
      startWorkers: () => this.#startWorkers(true),
    };
  }

  /** Routes and targets for `config`, keeping the targets that are the same (a room target only on the same link). */
  #build(config: RouterConfig): { routes: Route[]; rooms: Map<string, RoomTarget>; groups: Map<string, GroupTarget> } {
    const rooms = new Map<string, RoomTarget>();
    const groups = new Map<string, GroupTarget>();
    const sameLink = config.link === this.#config.link;
    const routes = config.bridges.map((b, i) => {
      const room = rooms.get(b.xmpp) ?? (sameLink ? this.rooms.get(b.xmpp) : undefined) ?? this.#roomTarget(b.xmpp, config);
      rooms.set(b.xmpp, room);
      const endpoints: Endpoint[] = [{ source: { kind: "room", room: b.xmpp }, target: room }];
      b.links.forEach((l, j) => {
        const net = config.networks.get(l.network);
        if (!net) throw new Error(`bridges[${i}].links[${j}]: no network "${l.network}"`);
        const key = groupTargetKey(net.id, l.group);
        const existing = groups.get(key) ?? this.groups.get(key);
        const target = existing?.network === net ? existing : this.#groupTarget(net, l.group);
        groups.set(key, target);
        endpoints.push({ source: { kind: "group", network: l.network, group: l.group }, target });
      });
      return { name: b.xmpp, format: b.format || DEFAULT_FORMAT, endpoints };
    });
    return { routes, rooms, groups };
  }

  #commit(built: { routes: Route[]; rooms: Map<string, RoomTarget>; groups: Map<string, GroupTarget> }): void {
    this.#routes = built.routes;
    replaceAll(this.rooms, built.rooms);
    replaceAll(this.groups, built.groups);
  }

  /** A worker for every target without one (started unless at construction: the supervisor starts those). */
  #startWorkers(start: boolean): TargetWorker[] {
    const opts = this.#opts;
    const rate = this.#config.rate ?? DEFAULT_RATE;
    const made: TargetWorker[] = [];
    for (const target of [...this.rooms.values(), ...this.groups.values()]) {
      if (this.workers.has(target.key)) continue;
      const worker = new TargetWorker({
        target,
        outbox: opts.outbox,
        bucket: new TokenBucket({ perSecond: rate.per_second, burst: rate.burst }),
        backoff: opts.backoff ?? { min: 1000, max: 60_000 },
        logger: this.#log,
        now: opts.now ?? Date.now,
        deadLetterAfterMs: opts.deadLetterAfterMs ?? 86_400_000,
        onSettled: this.#hooks.onSettled,
      });
      this.workers.set(target.key, worker);
      if (start) worker.start();
      made.push(worker);
    }
    return made;
  }

  #roomTarget(room: string, config: RouterConfig): RoomTarget {
    const opts = this.#opts;
    return new RoomTarget({
      room,
      link: config.link,
      outbox: opts.outbox,
      logger: this.#log,
      confirm: this.#hooks.confirm,
      password: config.bridges.find((b) => b.xmpp === room && b.room_password)?.room_password,
      catchUpSlackMs: opts.catchUpSlackMs ?? 5000,
      maxLength: config.xmppMaxLength ?? 10_000,
      sendTimeout: opts.sendTimeout,
      media: {
        maxBytes: opts.mediaMaxBytes ?? DEFAULT_MEDIA_MAX_BYTES,
        // The networks in force when the media is fetched (a reload may have replaced one).
        fetch: (media, maxBytes) => {
          const net = media.network !== undefined ? this.#config.networks.get(media.network) : undefined;
          if (!net?.fetchMedia || media.ref === undefined) return Promise.reject(new Error(`network ${media.network ?? "?"} cannot fetch its media`));
          const { network: _n, url: _u, ...ref } = media;
          return net.fetchMedia({ ...ref, ref: media.ref }, maxBytes);
        },
      },
    });
  }

  #groupTarget(net: NetworkAdapter, group: string): GroupTarget {
    const opts = this.#opts;
    return new GroupTarget(net, group, { echoWindowMs: opts.echoWindowMs, historySlackMs: opts.catchUpSlackMs, sendTimeoutMs: opts.groupSendTimeoutMs, outbox: opts.outbox });
  }

  /**
   * The outbox items for every other endpoint of every route that contains the source. A rich
   * message (reply, edit, retraction, media) gets each target's own items (rich-items.ts).
   */
  fanOut(from: Source, said: Said, rich?: Rich): NewItem[] {
    const items: NewItem[] = [];
    for (const route of this.#routes) {
      if (!route.endpoints.some((e) => sameSource(e.source, from))) continue;
      const format = (text: string) => {
        const line = formatMessage(route.format, { ...said, text });
        return said.late ? markLate(line, said.time) : line;
      };
      const line = format(said.text);
      for (const e of route.endpoints) {
        if (sameSource(e.source, from)) continue;
        if (rich) {
          const t = { key: e.target.key, maxLength: e.target.maxLength, caps: this.#caps(e.target), isRoom: e.target instanceof RoomTarget };
          items.push(...richItems(t, { bridge: route.name, sender: said.nick }, format, said.text, rich));
          continue;
        }
        for (const part of splitText(line, e.target.maxLength)) {
          if (part.trim() !== "") items.push({ bridge: route.name, target: e.target.key, text: part, sender: said.nick });
        }
      }
    }
    return items;
  }

  /** What a target does natively: a network's features; a room replies and edits, retracts and uploads where its link can. */
  #caps(target: RoomTarget | GroupTarget): Caps {
    if (target instanceof GroupTarget) return target.network.features ?? {};
    return { reply: true, edit: true, retract: target.canRetract, media: target.canUpload };
  }

  /** Every (bridge, target key) pair the routes send to. */
  pairs(): { bridge: string; target: string }[] {
    return this.#routes.flatMap((r) => r.endpoints.map((e) => ({ bridge: r.name, target: e.target.key })));
  }

  /** The networks some bridge uses. */
  networks(): Set<NetworkAdapter> {
    return new Set([...this.groups.values()].map((g) => g.network));
  }

  /** Tells these targets' workers to look at the outbox again. */
  notify(targets: Iterable<string>): void {
    for (const t of targets) this.workers.get(t)?.notify();
  }
}
