// Builds the NetworkAdapter a `networks` entry of the config describes.
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

export function createNetwork(id: string, config: NetworkConfig, ctx: NetworkContext): NetworkAdapter {
  const common = { id, stateDir: ctx.stateDir, logger: ctx.logger, groups: ctx.groups, onResponse: ctx.onResponse, onEventRejected: ctx.onEventRejected };
  switch (config.type) {
    case "webqq":
      return createWebqq({ ...common, endpoints: config.endpoints, sendInterval: config.send_interval, pollHold: config.poll_hold, sendTimeout: config.send_timeout, onEventRejected: ctx.onEventRejected });
    case "onebot11":
      return createOnebot11({ ...common, config, sendTimeoutMs: config.send_timeout, onEventRejected: ctx.onEventRejected });
    case "onebot12":
      return createOnebot12({ ...common, config, sendTimeoutMs: config.send_timeout });
    case "telegram":
      return createTelegram({ ...common, config, sendTimeoutMs: config.send_timeout });
    case "qqbot":
      return createQqbot({ ...common, config, onEventRejected: ctx.onEventRejected });
  }
}
