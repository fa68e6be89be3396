// The normalized configuration: what loadConfig() produces and run() consumes.
// The YAML users write is looser (bridges keyed by network id); see bridge/config/schema.ts.

import type * as z from "zod";
import type { NETWORK_SCHEMAS } from "./schema.ts";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

// A network's config is what its schema entry outputs (bridge/config/schema.ts NETWORK_SCHEMAS):
// adding a network adds no type here. The keys are documented in README's configuration tables.
type NetworkSchemas = typeof NETWORK_SCHEMAS;
export type WebqqNetworkConfig = z.output<NetworkSchemas["webqq"]>;
export type Onebot11NetworkConfig = z.output<NetworkSchemas["onebot11"]>;
export type Onebot12NetworkConfig = z.output<NetworkSchemas["onebot12"]>;
export type TelegramNetworkConfig = z.output<NetworkSchemas["telegram"]>;
export type QqbotNetworkConfig = z.output<NetworkSchemas["qqbot"]>;
export type NetworkConfig = z.output<NetworkSchemas[keyof NetworkSchemas]>;

export interface BridgeLink {
  network: string;
  /** Always a string, even when the YAML held a number (OneBot/Telegram ids). */
  group: string;
}

export interface BridgeConfig {
  xmpp: string;
  room_password?: string;
  /** Default "<{nick}> {text}". */
  format: string;
  links: BridgeLink[];
}

export interface Config {
  /** Absolute path of the file read. */
  path: string;
  /** Absolute; resolved relative to the config file's folder. */
  state_dir: string;
  /** format default: pretty on a TTY, json otherwise. */
  log: { level: LogLevel; format?: "pretty" | "json" };
  /** listen e.g. "127.0.0.1:9464"; auth: basic auth for /, /status.json and /metrics. */
  metrics?: { listen: string; auth?: { user: string; password: string }; insecure_no_auth?: boolean };
  xmpp: {
    jid: string;
    password: string;
    service?: string;
    nick: string;
    verify_tls: boolean;
    /** required (the default when absent; loopback services excepted), opportunistic, or off. */
    tls?: "required" | "opportunistic" | "off";
    sasl_mechanism?: string;
    max_message_length?: number;
    self_ping_interval?: number;
  };
  networks: Record<string, NetworkConfig>;
  bridges: BridgeConfig[];
  /**
   * drain_timeout in ms, default 10000. dead_letter_after: ms an item may keep failing before it
   * is a dead letter (default 86400000). dead_letter_notice: announce dead letters in the room.
   * id_map_max_age: ms the id map keeps a message's ids for replies, edits and retractions
   * (default 2592000000, 30 days). media_max_bytes: largest picture or file fetched from a network
   * and uploaded to the room (default 10485760, 10 MB); a larger one becomes a text note.
   */
  relay?: {
    rate?: { per_second: number; burst: number };
    drain_timeout?: number;
    dead_letter_after?: number;
    dead_letter_notice?: boolean;
    id_map_max_age?: number;
    media_max_bytes?: number;
    echo_window?: number;
  };
}
