// The part of BridgeMetrics (bridge/observe/metrics.ts) the relay reports to; optional.
// Counters are counted as things happen; the gauges are read at scrape time (gauges()), so the
// hot path (accepting a message, settling a send) never counts the outbox.

/** The relay's state as the gauges show it, read once per scrape. */
export interface RelayGauges {
  /** Pending items per bridge and target the relay sends to, 0 for an empty queue. */
  queued: { bridge: string; target: string; n: number }[];
  /** All pending items of those targets. */
  depth: number;
  /** Dead letters per target the relay sends to (only targets that have any). */
  deadLetters: { target: string; n: number }[];
  rooms: { room: string; state: string }[];
  networks: { network: string; state: string }[];
}

export interface RelayMetrics {
  relayed(bridge: string, target: string): void;
  /** A dead letter: never deliverable, or still failing after relay.dead_letter_after. */
  failed(bridge: string, target: string): void;
  /** A maybe-delivered send sent again because nothing could tell whether it got in. */
  resentUnconfirmed(network: string): void;
  /** Where the gauges are read at scrape time; the last relay to call it is the one read. */
  gauges(read: () => RelayGauges): void;
}
