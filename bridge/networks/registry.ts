// Builds the NetworkAdapter a `networks` entry of the config describes.
import type { Logger } from "pino";
import type { NetworkConfig } from "../config/types.ts";
import type { NetworkAdapter } from "../network.ts";
import { createWebqq } from "./webqq/index.ts";

export interface NetworkContext {
  /** Absolute state directory (saved sessions, QR images). */
  stateDir: string;
  logger: Logger;
  /** The groups of this network that bridges name. */
  groups: string[];
}

export class UnsupportedNetworkError extends Error {
  constructor(id: string, type: string) {
    super(`network "${id}": network type ${type} is not supported yet`);
    this.name = "UnsupportedNetworkError";
  }
}

export function createNetwork(id: string, config: NetworkConfig, ctx: NetworkContext): NetworkAdapter {
  switch (config.type) {
    case "webqq":
      return createWebqq({
        id,
        stateDir: ctx.stateDir,
        endpoints: config.endpoints,
        logger: ctx.logger,
        groups: ctx.groups,
        sendInterval: config.send_interval,
        pollHold: config.poll_hold,
      });
    default:
      throw new UnsupportedNetworkError(id, config.type);
  }
}
