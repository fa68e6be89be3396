// The router: every `bridges` entry links one XMPP room with one or more network groups, and a
// message from any of them goes to all the others. Built once from the config, it holds each
// target (a room, or one group of one network), the outbox worker that sends to it, and the
// routes; it maps a source to the lines its targets get: formatted with the bridge's template,
// marked with their time when late, and split to what one send to the target may carry.
import type { Logger } from "pino";
import type { NetworkAdapter } from "../network.ts";
import type { NewItem } from "../store/outbox.ts";
import { DEFAULT_FORMAT, formatMessage, markLate } from "./format.ts";
import { richItems, type Caps, type Rich } from "./rich-items.ts";

/** relay.media_max_bytes default: 10 MB. */
export const DEFAULT_MEDIA_MAX_BYTES = 10 * 1024 * 1024;
import { GroupTarget } from "./group-target.ts";
import type { RelayOptions } from "./relay.ts";
import { RoomTarget } from "./room-target.ts";
import type { Confirm } from "./settlement.ts";
import { splitText } from "./split.ts";
import { groupTargetKey } from "./target.ts";
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

function sameSource(a: Source, b: Source): boolean {
  if (a.kind === "room") return b.kind === "room" && a.room === b.room;
  return b.kind === "group" && a.network === b.network && a.group === b.group;
}

export class Router {
  /** Room targets by room JID. */
  readonly rooms = new Map<string, RoomTarget>();
  /** Group targets by target key. */
  readonly groups = new Map<string, GroupTarget>();
  /** One worker per target, by target key. */
  readonly workers = new Map<string, TargetWorker>();
  readonly #routes: Route[] = [];

  constructor(opts: RelayOptions, log: Logger, hooks: RouterHooks) {
    const rate = opts.rate ?? { per_second: 2, burst: 5 };
    const backoff = opts.backoff ?? { min: 1000, max: 60_000 };
    opts.bridges.forEach((b, i) => {
      const endpoints: Endpoint[] = [{ source: { kind: "room", room: b.xmpp }, target: this.#roomTarget(b.xmpp, opts, log, hooks) }];
      b.links.forEach((l, j) => {
        const net = opts.networks.get(l.network);
        if (!net) throw new Error(`bridges[${i}].links[${j}]: no network "${l.network}"`);
        endpoints.push({ source: { kind: "group", network: l.network, group: l.group }, target: this.#groupTarget(net, l.group, opts) });
      });
      this.#routes.push({ name: b.xmpp, format: b.format || DEFAULT_FORMAT, endpoints });
    });
    for (const target of [...this.rooms.values(), ...this.groups.values()]) {
      const worker = new TargetWorker({
        target,
        outbox: opts.outbox,
        bucket: new TokenBucket({ perSecond: rate.per_second, burst: rate.burst }),
        backoff,
        logger: log,
        now: opts.now ?? Date.now,
        deadLetterAfterMs: opts.deadLetterAfterMs ?? 86_400_000,
        onSettled: hooks.onSettled,
      });
      this.workers.set(target.key, worker);
    }
  }

  #roomTarget(room: string, opts: RelayOptions, log: Logger, hooks: RouterHooks): RoomTarget {
    let t = this.rooms.get(room);
    if (!t) {
      t = new RoomTarget({
        room,
        link: opts.room,
        outbox: opts.outbox,
        logger: log,
        confirm: hooks.confirm,
        password: opts.bridges.find((b) => b.xmpp === room && b.room_password)?.room_password,
        catchUpSlackMs: opts.catchUpSlackMs ?? 5000,
        maxLength: opts.xmppMaxLength ?? 10_000,
        sendTimeout: opts.sendTimeout,
        media: {
          maxBytes: opts.mediaMaxBytes ?? DEFAULT_MEDIA_MAX_BYTES,
          fetch: (media, maxBytes) => {
            const net = media.network !== undefined ? opts.networks.get(media.network) : undefined;
            if (!net?.fetchMedia || media.ref === undefined) return Promise.reject(new Error(`network ${media.network ?? "?"} cannot fetch its media`));
            const { network: _n, url: _u, ...ref } = media;
            return net.fetchMedia({ ...ref, ref: media.ref }, maxBytes);
          },
        },
      });
      this.rooms.set(room, t);
    }
    return t;
  }

  #groupTarget(net: NetworkAdapter, group: string, opts: RelayOptions): GroupTarget {
    const key = groupTargetKey(net.id, group);
    let t = this.groups.get(key);
    if (!t) {
      t = new GroupTarget(net, group, { echoWindowMs: opts.echoWindowMs, historySlackMs: opts.catchUpSlackMs, sendTimeoutMs: opts.groupSendTimeoutMs, outbox: opts.outbox });
      this.groups.set(key, t);
    }
    return t;
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
