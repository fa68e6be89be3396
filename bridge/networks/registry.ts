// Builds the NetworkAdapter a `networks` entry of the config describes: one line a network type.
import type { Logger } from "pino";
import type { ResponseInfo } from "../../src/index.ts";
import type { NetworkConfig } from "../config/types.ts";
import type { NetworkAdapter } from "../network.ts";
import { createOnebot11 } from "./onebot11/index.ts";
import { createOnebot12 } from "./onebot12/index.ts";
import { createQqbot } from "./qqbot/index.ts";
import { createTelegram } from "./telegram/index.ts";
import { createWebqq } from "./webqq/index.ts";

export interface NetworkContext {
  /** Absolute state directory (saved sessions, QR images). */
  stateDir: string;
  logger: Logger;
  /** The groups of this network that bridges name. */
  groups: string[];
  /** Observes the network's HTTP answers (poll latency metrics). */
  onResponse?: (info: ResponseInfo) => void;
  /**
   * Called once per inbound event the network could not turn into a message (wrong shape, bad
   * field): the event was logged with its id, acknowledged and skipped. Feeds
   * pollbridge_events_rejected_total{network}.
   */
  onEventRejected?: (reason: string) => void;
}

/** What every adapter's create function takes besides its own config. */
export interface CommonOptions extends NetworkContext {
  /** The network's key in the config. */
  id: string;
}

type Builders = { [T in NetworkConfig["type"]]: (common: CommonOptions, config: Extract<NetworkConfig, { type: T }>) => NetworkAdapter };

/** One line a network type; the compiler refuses a config type without one. */
const BUILDERS: Builders = {
  webqq: (common, c) => createWebqq({ ...common, endpoints: c.endpoints, sendInterval: c.send_interval, pollHold: c.poll_hold, sendTimeout: c.send_timeout }),
  onebot11: (common, config) => createOnebot11({ ...common, config }),
  onebot12: (common, config) => createOnebot12({ ...common, config }),
  telegram: (common, config) => createTelegram({ ...common, config }),
  qqbot: (common, config) => createQqbot({ ...common, config }),
};

export function createNetwork(id: string, config: NetworkConfig, ctx: NetworkContext): NetworkAdapter {
  const build = BUILDERS[config.type] as (common: CommonOptions, config: NetworkConfig) => NetworkAdapter;
  return build({ ...ctx, id }, config);
}
