// The part of BridgeMetrics (bridge/observe/metrics.ts) the relay reports to; optional.

export interface RelayMetrics {
  relayed(bridge: string, target: string): void;
  /** A dead letter: never deliverable, or still failing after relay.dead_letter_after. */
  failed(bridge: string, target: string): void;
  /** A maybe-delivered send sent again because nothing could tell whether it got in. */
  resentUnconfirmed(network: string): void;
  setQueued(bridge: string, target: string, n: number): void;
  setOutboxDepth(n: number): void;
}
