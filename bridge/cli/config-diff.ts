// What a reload changes, part by part. The running bridge applies bridges (rooms, groups,
// formats, room passwords), rate limits and the drain timeout live, restarts only a network
// whose settings changed, only the XMPP client when the account changed, and only the metrics
// server when its address or auth changed. Keys no part can take in live (log, metrics turned
// on or off, dead-letter settings) restart the whole bridge in-process.
import { isDeepStrictEqual } from "node:util";
import type { Config } from "../config/types.ts";

export interface ConfigChange {
  /** Why a live apply is not enough: the keys that need the whole bridge restarted; empty when none. */
  restart: string[];
  /** xmpp.* changed: the XMPP client restarts (its rooms are rejoined, with catch-up). */
  xmpp: boolean;
  /** Networks used before and after whose settings changed: each adapter restarts alone. */
  networks: string[];
  /** Networks a bridge now uses that none used before: started. */
  networksAdded: string[];
  /** Networks no bridge uses any more: stopped (their pending items stay in the outbox). */
  networksRemoved: string[];
  /** bridges changed (rooms, groups, formats, room passwords): applied live. */
  bridges: boolean;
  /** relay.rate changed: applied live. */
  rate: boolean;
  /** metrics.listen or metrics.auth changed (metrics on before and after): the metrics server restarts. */
  metrics: boolean;
}

/** relay.* keys the running bridge reads when it needs them, so a new value simply applies. */
const LIVE_RELAY_KEYS = new Set(["rate", "drain_timeout"]);

/** Network ids some bridge links to. */
export function usedNetworks(config: Pick<Config, "bridges">): Set<string> {
  return new Set(config.bridges.flatMap((b) => b.links.map((l) => l.network)));
}

export function diffConfig(now: Config, next: Config): ConfigChange {
  const restart: string[] = [];
  if (!isDeepStrictEqual(now.log, next.log)) restart.push("log");
  // Metrics on or off: the relay and the networks were built with (or without) the counters.
  if (Boolean(now.metrics) !== Boolean(next.metrics)) restart.push("metrics");
  const relayNow: Record<string, unknown> = { ...now.relay };
  const relayNext: Record<string, unknown> = { ...next.relay };
  for (const key of new Set([...Object.keys(relayNow), ...Object.keys(relayNext)])) {
    if (!LIVE_RELAY_KEYS.has(key) && !isDeepStrictEqual(relayNow[key], relayNext[key])) restart.push(`relay.${key}`);
  }
  const before = usedNetworks(now);
  const after = usedNetworks(next);
  return {
    restart,
    xmpp: !isDeepStrictEqual(now.xmpp, next.xmpp),
    networks: [...after].filter((id) => before.has(id) && !isDeepStrictEqual(now.networks[id], next.networks[id])),
    networksAdded: [...after].filter((id) => !before.has(id)),
    networksRemoved: [...before].filter((id) => !after.has(id)),
    bridges: !isDeepStrictEqual(now.bridges, next.bridges),
    rate: !isDeepStrictEqual(now.relay?.rate, next.relay?.rate),
    metrics: Boolean(now.metrics && next.metrics) && !isDeepStrictEqual(now.metrics, next.metrics),
  };
}

/** One line for the log: what the reload does. */
export function describeChange(c: ConfigChange): string {
  const parts: string[] = [];
  if (c.bridges) parts.push("bridges applied live");
  if (c.rate) parts.push("rate limits applied live");
  if (c.networksAdded.length) parts.push(`networks started: ${c.networksAdded.join(", ")}`);
  if (c.networksRemoved.length) parts.push(`networks stopped: ${c.networksRemoved.join(", ")}`);
  if (c.networks.length) parts.push(`networks restarted: ${c.networks.join(", ")}`);
  if (c.xmpp) parts.push("XMPP client restarted");
  if (c.metrics) parts.push("metrics server restarted");
  return parts.length ? parts.join("; ") : "nothing changed";
}
