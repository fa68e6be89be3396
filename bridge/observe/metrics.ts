// The bridge's Prometheus metrics, on a Registry of its own (no global state shared with an
// embedding application).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class BridgeMetrics {
  readonly registry: Registry;
  readonly #relayed: Counter<"bridge" | "target">;
  readonly #failed: Counter<"bridge" | "target">;
  readonly #queued: Gauge<"bridge" | "target">;
  readonly #outboxDepth: Gauge;
  readonly #pollLatency: Histogram<"network">;
  readonly #reconnects: Counter<"side">;
  readonly #resentUnconfirmed: Counter<"network">;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: "pollbridge_" });
    this.#relayed = new Counter({ name: "pollbridge_messages_relayed_total", help: "Messages delivered to a target and confirmed by it", labelNames: ["bridge", "target"], registers });
    this.#failed = new Counter({ name: "pollbridge_messages_failed_total", help: "Dead letters: messages a target refused for good, or that still failed after relay.dead_letter_after (kept in the outbox as failed)", labelNames: ["bridge", "target"], registers });
    this.#queued = new Gauge({ name: "pollbridge_messages_queued", help: "Messages waiting for a target (rate limit, target down)", labelNames: ["bridge", "target"], registers });
    this.#outboxDepth = new Gauge({ name: "pollbridge_outbox_depth", help: "Messages in the durable outbox not yet confirmed", registers });
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

  setQueued(bridge: string, target: string, n: number): void {
    this.#queued.set({ bridge, target }, n);
  }

  setOutboxDepth(n: number): void {
    this.#outboxDepth.set(n);
  }

  observePoll(network: string, seconds: number): void {
    this.#pollLatency.observe({ network }, seconds);
  }

  reconnect(side: string): void {
    this.#reconnects.inc({ side });
  }
}
