// The bridge's Prometheus metrics, on a Registry of its own (no global state shared with an
// embedding application). Counters count as things happen; the gauges (queues, dead letters,
// room and network states) are computed in prom-client's collect() when /metrics is scraped,
// from one reading of the relay's state per scrape (RelayMetrics.gauges).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RelayGauges } from "../relay/metrics.ts";

export class BridgeMetrics {
  readonly registry: Registry;
  readonly #relayed: Counter<"bridge" | "target">;
  readonly #failed: Counter<"bridge" | "target">;
  readonly #pollLatency: Histogram<"network">;
  readonly #reconnects: Counter<"side">;
  readonly #resentUnconfirmed: Counter<"network">;
  readonly #rejected: Counter<"network">;
  #read: (() => RelayGauges) | undefined;
  /** The reading of the scrape in progress: every gauge's collect() of one scrape runs in one synchronous pass. */
  #reading: RelayGauges | undefined;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: "pollbridge_" });
    this.#relayed = new Counter({ name: "pollbridge_messages_relayed_total", help: "Messages delivered to a target and confirmed by it", labelNames: ["bridge", "target"], registers });
    this.#failed = new Counter({ name: "pollbridge_messages_failed_total", help: "Dead letters: messages a target refused for good, or that still failed after relay.dead_letter_after (kept in the outbox as failed)", labelNames: ["bridge", "target"], registers });
    // The gauges are reset at each scrape, so a target, room or network gone since the last one
    // disappears instead of showing a stale value.
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], set: (g: Gauge<L>, r: RelayGauges) => void) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          const r = read();
          if (r) set(this, r);
        },
      });
    const read = () => this.#readOnce();
    gauge("pollbridge_messages_queued", "Messages waiting for a target (rate limit, target down)", ["bridge", "target"], (g, r) => {
      for (const q of r.queued) g.set({ bridge: q.bridge, target: q.target }, q.n);
    });
    gauge("pollbridge_outbox_depth", "Messages in the durable outbox not yet confirmed", [], (g, r) => g.set(r.depth));
    gauge("pollbridge_dead_letters", "Dead letters kept in the outbox, per target (pollbridge outbox lists them)", ["target"], (g, r) => {
      for (const d of r.deadLetters) g.set({ target: d.target }, d.n);
    });
    gauge("pollbridge_room_state", "1 for each bridged room's current state (joining, joined, failed, left)", ["room", "state"], (g, r) => {
      for (const s of r.rooms) g.set({ room: s.room, state: s.state }, 1);
    });
    gauge("pollbridge_network_state", "1 for each network's current state (its /healthz state)", ["network", "state"], (g, r) => {
      for (const s of r.networks) g.set({ network: s.network, state: s.state }, 1);
    });
    this.#pollLatency = new Histogram({
      name: "pollbridge_poll_latency_seconds",
      help: "Duration of one poll request of a network (long polls park up to their hold time)",
      labelNames: ["network"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90, 120],
      registers,
    });
    this.#reconnects = new Counter({ name: "pollbridge_reconnects_total", help: "Reconnections or re-logins, by side (xmpp or a network id)", labelNames: ["side"], registers });
    this.#resentUnconfirmed = new Counter({
      name: "pollbridge_sends_resent_unconfirmed_total",
      help: "Sends that may have been delivered, sent again because the network offers no evidence (echo, history) that could tell: the group may see these twice",
      labelNames: ["network"],
      registers,
    });
    this.#rejected = new Counter({
      name: "pollbridge_events_rejected_total",
      help: "Inbound events a network could not turn into a message (wrong shape): logged with their id, acknowledged and skipped",
      labelNames: ["network"],
      registers,
    });
  }

  rejected(network: string): void {
    this.#rejected.inc({ network });
  }

  relayed(bridge: string, target: string): void {
    this.#relayed.inc({ bridge, target });
  }

  failed(bridge: string, target: string): void {
    this.#failed.inc({ bridge, target });
  }

  resentUnconfirmed(network: string): void {
    this.#resentUnconfirmed.inc({ network });
  }

  gauges(read: () => RelayGauges): void {
    this.#read = read;
  }

  #readOnce(): RelayGauges | undefined {
    if (!this.#read) return undefined;
    if (!this.#reading) {
      this.#reading = this.#read();
      queueMicrotask(() => (this.#reading = undefined));
    }
    return this.#reading;
  }

  observePoll(network: string, seconds: number): void {
    this.#pollLatency.observe({ network }, seconds);
  }

  reconnect(side: string): void {
    this.#reconnects.inc({ side });
  }
}
