// The normalized configuration: what loadConfig() produces and run() consumes.
// The YAML users write is looser (bridges keyed by network id); see bridge/config/schema.ts.

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export interface WebqqNetworkConfig {
  type: "webqq";
  endpoints?: { ptlogin?: string; ui?: string; s?: string; d1?: string };
  send_interval?: number;
  poll_hold?: number;
  send_timeout?: number;
}

export interface Onebot11NetworkConfig {
  type: "onebot11";
  /** HTTP API base URL, e.g. http://127.0.0.1:5700. Optional with events ws / ws-reverse (actions then go on the socket). */
  api?: string;
  access_token?: string;
  /** How events arrive: forward or reverse WebSocket, go-cqhttp's get_updates long poll, HTTP POST webhook, or SSE /_events. */
  events: "long-poll" | "webhook" | "sse" | "ws" | "ws-reverse";
  webhook?: { listen: string; secret?: string; path?: string; max_body?: number; insecure_no_secret?: boolean };
  /** events: ws: the implementation's WebSocket server, ws:// or wss://. */
  ws?: string;
  /** events: ws-reverse: where the bridge listens for the implementation's connection. */
  ws_reverse?: { listen: string; path?: string };
  /** ms a send waits for its answer before it is maybe-delivered (default 60000). */
  send_timeout?: number;
}

export interface Onebot12NetworkConfig {
  type: "onebot12";
  /** The action endpoint (POST /). */
  url: string;
  access_token?: string;
  /** ms a send waits for its answer before it is maybe-delivered (default 60000). */
  send_timeout?: number;
}

export interface TelegramNetworkConfig {
  type: "telegram";
  token: string;
  /** Bot API base URL (self-hosted server); default https://api.telegram.org. */
  api?: string;
  /** ms a send waits for its answer before it is maybe-delivered (default 60000). */
  send_timeout?: number;
}

export interface QqbotNetworkConfig {
  type: "qqbot";
  /** The bot's AppID (a string, as the token endpoint wants it). */
  app_id: string;
  /** The AppSecret: gets the access token, and keys the webhook's Ed25519 signatures. */
  secret: string;
  /** How events arrive: the gateway WebSocket, or signed HTTP callbacks to our webhook. */
  events: "ws" | "webhook";
  webhook?: { listen: string; path?: string };
  /** OpenAPI base URL; default https://api.sgroup.qq.com (sandbox: https://sandbox.api.sgroup.qq.com). */
  api?: string;
  /** getAppAccessToken URL; default https://bots.qq.com/app/getAppAccessToken. */
  token_url?: string;
}

export type NetworkConfig = WebqqNetworkConfig | Onebot11NetworkConfig | Onebot12NetworkConfig | TelegramNetworkConfig | QqbotNetworkConfig;

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
