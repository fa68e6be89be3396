// The schema of pollbridge.yaml as users write it (after ${VAR} substitution). Strict objects:
// an unknown key is a problem, not silently ignored. Bridge entries are loose here because
// every key other than xmpp/format/room_password names a network; load.ts checks those.

import * as z from "zod";
import { jidProblem } from "./jid.ts";
import { parseListen } from "./listen.ts";
import { isLoopbackHost } from "./loopback.ts";

// Values from ${VAR} are strings: accept "5000" and "false" where a number or boolean goes.
const numeric = (v: unknown): unknown => (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
const boolish = (v: unknown): unknown => (v === "true" ? true : v === "false" ? false : v);

const nonNegInt = z.preprocess(numeric, z.number().int().nonnegative());
const posInt = z.preprocess(numeric, z.number().int().positive());
const posNumber = z.preprocess(numeric, z.number().positive());
const bool = z.preprocess(boolish, z.boolean());
const nonEmpty = z.string().min(1, "must not be empty");

function urlWith(protocols: string[]) {
  const list = protocols.map((p) => `${p}//`).join(" or ");
  return z.string().refine((s) => {
    try {
      return protocols.includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${list}`);
}
const httpUrl = urlWith(["http:", "https:"]);

const listen = z.string().superRefine((s, ctx) => {
  try {
    parseListen(s);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

const jid = (bare: boolean) =>
  z.string().superRefine((s, ctx) => {
    const why = jidProblem(s, { bare });
    if (why) ctx.addIssue({ code: "custom", message: why });
  });

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

const webqq = z.strictObject({
  type: z.literal("webqq"),
  endpoints: z.strictObject({ ptlogin: httpUrl.optional(), ui: httpUrl.optional(), s: httpUrl.optional(), d1: httpUrl.optional() }).optional(),
  send_interval: nonNegInt.optional(),
  poll_hold: nonNegInt.optional(),
  send_timeout: posInt.optional(),
});

const wsUrl = urlWith(["ws:", "wss:"]);
const onebot11 = z.strictObject({
  type: z.literal("onebot11"),
  api: httpUrl.optional(),
  access_token: z.string().optional(),
  events: z.enum(["long-poll", "webhook", "sse", "ws", "ws-reverse"]).default("long-poll"),
  webhook: z.strictObject({
    listen,
    secret: z.string().optional(),
    path: z.string().optional(),
    max_body: posInt.optional(),
    insecure_no_secret: bool.optional(),
  }).optional(),
  ws: wsUrl.optional(),
  ws_reverse: z.strictObject({ listen, path: z.string().regex(/^\//, "must start with /").optional() }).optional(),
  send_timeout: posInt.optional(),
}).superRefine((n, ctx) => {
  if (n.events === "webhook" && !n.webhook) {
    ctx.addIssue({ code: "custom", path: ["webhook"], message: "required when events is webhook: { listen: host:port, secret?: ... }" });
  }
  if (n.events === "ws" && !n.ws) ctx.addIssue({ code: "custom", path: ["ws"], message: 'required when events is ws: "ws://host:port" (the implementation\'s WebSocket server)' });
  if (n.events === "ws-reverse" && !n.ws_reverse) ctx.addIssue({ code: "custom", path: ["ws_reverse"], message: "required when events is ws-reverse: { listen: host:port }" });
  if (n.events !== "ws" && n.events !== "ws-reverse" && !n.api) ctx.addIssue({ code: "custom", path: ["api"], message: `required when events is ${n.events}: the HTTP API base URL, e.g. http://127.0.0.1:5700` });
  const w = n.webhook;
  if (w?.secret !== undefined && w.secret === "") ctx.addIssue({ code: "custom", path: ["webhook", "secret"], message: "is empty: an empty secret would turn signature checking off; set it (NapCat signs with its access token) or remove the key" });
  if (w && w.secret === undefined && !w.insecure_no_secret && !isLoopbackListen(w.listen)) {
    ctx.addIssue({ code: "custom", path: ["webhook", "secret"], message: "required when the webhook listens beyond loopback (anyone who reaches it could post forged messages); or set insecure_no_secret: true" });
  }
  const r = n.ws_reverse;
  if (n.events === "ws-reverse" && r && !n.access_token && !isLoopbackListen(r.listen)) {
    ctx.addIssue({ code: "custom", path: ["access_token"], message: "required when ws_reverse listens beyond loopback (anyone who reaches it could connect as the implementation): set the implementation's token here" });
  }
});

/** Whether a listen address is loopback only (127.0.0.0/8, ::1, localhost). */
function isLoopbackListen(s: string): boolean {
  try {
    const { host } = parseListen(s);
    return /^127\./.test(host) || host === "::1" || host === "localhost";
  } catch {
    return true; // its own problem is reported at listen
  }
}

const onebot12 = z.strictObject({
  type: z.literal("onebot12"),
  url: httpUrl,
  access_token: z.string().optional(),
  send_timeout: posInt.optional(),
});

const telegram = z.strictObject({
  type: z.literal("telegram"),
  token: nonEmpty,
  api: httpUrl.optional(),
  send_timeout: posInt.optional(),
});

// The official QQ bot API. app_id is a number on the console: accepted unquoted, kept as a string.
const qqbot = z.strictObject({
  type: z.literal("qqbot"),
  app_id: z.preprocess((v) => (typeof v === "number" && Number.isSafeInteger(v) ? String(v) : v), nonEmpty),
  secret: nonEmpty,
  events: z.enum(["ws", "webhook"]).default("ws"),
  webhook: z.strictObject({ listen, path: z.string().startsWith("/", "must start with /").optional() }).optional(),
  api: httpUrl.optional(),
  token_url: httpUrl.optional(),
}).superRefine((n, ctx) => {
  if (n.events === "webhook" && !n.webhook) {
    ctx.addIssue({ code: "custom", path: ["webhook"], message: "required when events is webhook: { listen: host:port, path?: /callback }" });
  }
});

/**
 * Every network type's config, keyed by its `type`: the one entry a new network adds here.
 * NETWORK_TYPES, the `networks:` union and the config types (types.ts) are derived from it.
 */
export const NETWORK_SCHEMAS = { webqq, onebot11, onebot12, telegram, qqbot } as const;
type NetworkSchema = (typeof NETWORK_SCHEMAS)[keyof typeof NETWORK_SCHEMAS];
export const NETWORK_TYPES = Object.keys(NETWORK_SCHEMAS) as (keyof typeof NETWORK_SCHEMAS)[];
const network = z.discriminatedUnion("type", Object.values(NETWORK_SCHEMAS) as [NetworkSchema, ...NetworkSchema[]]);

export const BRIDGE_RESERVED_KEYS = ["xmpp", "format", "room_password"] as const;
const bridge = z.looseObject({
  xmpp: jid(true),
  format: nonEmpty.optional(),
  room_password: z.string().optional(),
});

export const fileSchema = z.strictObject({
  state_dir: nonEmpty.default("./state"),
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default("info"), format: z.enum(["pretty", "json"]).optional() }).default({ level: "info" }),
  metrics: z
    .strictObject({
      listen,
      auth: z.strictObject({ user: nonEmpty, password: nonEmpty }).optional(),
      insecure_no_auth: bool.optional(),
    })
    .superRefine((m, ctx) => {
      // The status page shows chat text and names: beyond loopback it needs a login, or an explicit opt-out.
      let host: string;
      try {
        host = parseListen(m.listen).host;
      } catch {
        return; // reported by listen itself
      }
      if (!m.auth && m.insecure_no_auth !== true && !isLoopbackHost(host)) {
        ctx.addIssue({ code: "custom", path: ["auth"], message: `metrics.listen ${m.listen} is reachable beyond this machine without a login: set metrics.auth { user, password: "\${METRICS_PASSWORD}" }, or metrics.insecure_no_auth: true when a proxy in front authenticates` });
      }
    })
    .optional(),
  xmpp: z.strictObject({
    jid: jid(false),
    password: nonEmpty,
    service: urlWith(["xmpp:", "xmpps:", "ws:", "wss:"]).optional(),
    nick: nonEmpty.default("pollbridge"),
    verify_tls: bool.default(true),
    tls: z.enum(["required", "opportunistic", "off"]).default("required"),
    sasl_mechanism: nonEmpty.optional(),
    max_message_length: posInt.optional(),
    self_ping_interval: nonNegInt.optional(),
  }),
  networks: z.record(z.string(), network).refine((n) => Object.keys(n).length > 0, "at least one network is required"),
  bridges: z.array(bridge).min(1, "at least one bridge is required"),
  relay: z
    .strictObject({
      rate: z.strictObject({ per_second: posNumber, burst: posInt }).optional(),
      drain_timeout: nonNegInt.optional(),
      dead_letter_after: posInt.optional(),
      dead_letter_notice: bool.optional(),
      id_map_max_age: posInt.optional(),
      media_max_bytes: posInt.optional(),
      echo_window: posInt.optional(),
    })
    .optional(),
});

export type FileConfig = z.output<typeof fileSchema>;
