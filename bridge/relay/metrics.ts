// The part of BridgeMetrics (bridge/observe/metrics.ts) the relay reports to; optional.

export interface RelayMetrics {
  relayed(bridge: string, target: string): void;
  failed(bridge: string, target: string): void;
  setQueued(bridge: string, target: string, n: number): void;
  setOutboxDepth(n: number): void;
}
