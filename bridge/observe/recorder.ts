// What the status page shows that no durable store keeps: messages relayed in the last hour per
// bridge and direction, the last relays, and each network's last inbound event. Fed from the
// relay's `settled` event and the networks' sinks (run.ts); memory only, bounded.
import type { OutboxItem } from "../store/outbox.ts";

export type Direction = "to_xmpp" | "to_network";

export interface RecentRelay {
  /** ms epoch of the delivery. */
  at: number;
  bridge: string;
  /** "xmpp" or the network id the message came from. */
  from: string;
  /** The target key it went to (xmpp:ROOM, net:NETWORK:GROUP). */
  to: string;
  sender: string;
  text: string;
}

const HOUR_MS = 3600_000;
export const RECENT_MAX = 20;
/** Longest text kept for the page (the full text is in the outbox). */
export const TEXT_MAX = 140;

export function shorten(text: string, max = TEXT_MAX): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : flat.slice(0, max - 1) + "…";
}

export class ActivityRecorder {
  readonly #now: () => number;
  /** Delivery times per bridge and direction, oldest first, pruned to the last hour. */
  readonly #deliveries = new Map<string, number[]>();
  /** Item ids counted in the last hour: a send and its echo both settle the same item. */
  readonly #counted = new Map<number, number>();
  readonly #recent: RecentRelay[] = [];
  readonly #lastEvent = new Map<string, number>();
  readonly #scrub: (s: string) => string;

  constructor(opts: { now?: () => number; scrub?: (s: string) => string } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#scrub = opts.scrub ?? ((s) => s);
  }

  /** An item was delivered (counted once per item id). */
  delivered(item: OutboxItem): void {
    const now = this.#now();
    this.#prune(now);
    if (this.#counted.has(item.id)) return;
    this.#counted.set(item.id, now);
    const dir: Direction = item.target.startsWith("xmpp:") ? "to_xmpp" : "to_network";
    const key = `${item.bridge}\n${dir}`;
    const list = this.#deliveries.get(key) ?? [];
    list.push(now);
    this.#deliveries.set(key, list);
    const from = item.sourceKey.startsWith("net:") ? item.sourceKey.split(":")[1]! : item.sourceKey.startsWith("xmpp:") ? "xmpp" : "bridge";
    this.#recent.unshift({ at: now, bridge: item.bridge, from, to: item.target, sender: shorten(this.#scrub(item.sender), 40), text: shorten(this.#scrub(item.text)) });
    this.#recent.length = Math.min(this.#recent.length, RECENT_MAX);
  }

  /** A network handed the relay a message (committed). */
  networkEvent(network: string): void {
    this.#lastEvent.set(network, this.#now());
  }

  lastEvent(network: string): number | undefined {
    return this.#lastEvent.get(network);
  }

  relayedLastHour(bridge: string): Record<Direction, number> {
    this.#prune(this.#now());
    return {
      to_xmpp: this.#deliveries.get(`${bridge}\nto_xmpp`)?.length ?? 0,
      to_network: this.#deliveries.get(`${bridge}\nto_network`)?.length ?? 0,
    };
  }

  recent(): RecentRelay[] {
    return this.#recent.map((r) => ({ ...r }));
  }

  #prune(now: number): void {
    const since = now - HOUR_MS;
    for (const [key, list] of this.#deliveries) {
      let i = 0;
      while (i < list.length && list[i]! <= since) i++;
      if (i > 0) list.splice(0, i);
      if (list.length === 0) this.#deliveries.delete(key);
    }
    for (const [id, at] of this.#counted) {
      if (at > since) break; // insertion order is time order
      this.#counted.delete(id);
    }
  }
}
