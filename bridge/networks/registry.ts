// Builds the NetworkAdapter a `networks` entry of the config describes: one line a network type.
import type { NetworkConfig } from "../config/types.ts";
import type { NetworkAdapter } from "../network.ts";
import { createOnebot11 } from "./onebot11/index.ts";
import { createOnebot12 } from "./onebot12/index.ts";
import { createQqbot } from "./qqbot/index.ts";
import { createTelegram } from "./telegram/index.ts";
import type { NetworkOptions } from "./shared/options.ts";
import { createWebqq } from "./webqq/index.ts";

/** What the run gives every network (its own config comes apart). */
export type NetworkContext = Omit<NetworkOptions, "id" | "retry">;

type Builders = { [T in NetworkConfig["type"]]: (common: NetworkOptions, config: Extract<NetworkConfig, { type: T }>) => NetworkAdapter };

/** One line a network type; the compiler refuses a config type without one. */
const BUILDERS: Builders = {
  webqq: (common, c) => createWebqq({ ...common, endpoints: c.endpoints, sendInterval: c.send_interval, pollHold: c.poll_hold, sendTimeout: c.send_timeout }),
  onebot11: (common, config) => createOnebot11({ ...common, config, sendTimeoutMs: config.send_timeout }),
  onebot12: (common, config) => createOnebot12({ ...common, config, sendTimeoutMs: config.send_timeout }),
  telegram: (common, config) => createTelegram({ ...common, config, sendTimeoutMs: config.send_timeout }),
  qqbot: (common, config) => createQqbot({ ...common, config }),
};

export function createNetwork(id: string, config: NetworkConfig, ctx: NetworkContext): NetworkAdapter {
  const build = BUILDERS[config.type] as (common: NetworkOptions, config: NetworkConfig) => NetworkAdapter;
  return build({ ...ctx, id }, config);
}
