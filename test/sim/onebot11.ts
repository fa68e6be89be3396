// A strict OneBot 11 implementation on one loopback port (go-cqhttp, NapCat or Lagrange flavor):
// HTTP API actions, get_updates long poll, SSE /_events and the HTTP POST reporter, with faults.
// Standalone:  node test/sim/onebot11.ts --port N [--token T] [--flavor napcat]   (first stdout line: base URL)
import type { ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import type { Segment } from "../../bridge/networks/onebot11/message.ts";
import { pushSse, route, type RouteContext } from "./onebot11/routes.ts";
import { SimState, type Fault, type Flavor, type SentMessage, type SimGroup, type SimMember, type SimStateOptions } from "./onebot11/state.ts";
import { startSimServer } from "./shared/server.ts";
import { atLeast } from "./shared/wait-for.ts";
import { serveStandalone } from "./shared/standalone.ts";
import { signature, WebhookPoster, type WebhookOptions, type WebhookPost } from "./onebot11/webhook.ts";

export type { Fault, Flavor, SentMessage, SimGroup, SimMember, WebhookOptions, WebhookPost };
export { signature };

export interface Onebot11SimOptions extends SimStateOptions {
  port?: number;
  /** The access token the API requires; null: none. Default: a random one. */
  token?: string | null;
  /** go-cqhttp's get_updates (default: on for go-cqhttp only). */
  longPoll?: boolean;
  /** NapCat's GET /_events (default: on for napcat only). */
  sse?: boolean;
  /** HTTP POST reporting to the client's server. */
  webhook?: WebhookOptions;
  /** Each API call waits this long (go-cqhttp's rate limiter queues calls rather than failing). */
  rateLimitMs?: number;
}

export interface Onebot11Sim {
  readonly url: string;
  readonly state: SimState;
  readonly token: string | undefined;
  /** Protocol rules the client broke (a correct client causes none). */
  readonly violations: string[];
  /** Every secret the sim knows (token, webhook secret): logs must hold none. */
  readonly secrets: string[];
  readonly webhookPosts: WebhookPost[];
  inject(msg: { group: number; sender: SimMember; message: string | Segment[] }): number;
  injectEvent(event: Record<string, unknown>): void;
  heartbeat(): void;
  sent(group?: number): SentMessage[];
  waitForSent(group: number, n?: number, signal?: AbortSignal): Promise<SentMessage[]>;
  /** Resolves once `n` get_updates requests arrived in all. */
  waitForPolls(n: number, signal?: AbortSignal): Promise<number>;
  /** Resolves once every queued event was taken by a get_updates answer. */
  waitForDrained(signal?: AbortSignal): Promise<void>;
  /** Resolves once `n` SSE streams were opened in all. */
  waitForSseStreams(n: number, signal?: AbortSignal): Promise<number>;
  /** Resolves once `n` webhook events finished (accepted or out of retries). */
  waitForWebhookPosts(n: number, signal?: AbortSignal): Promise<WebhookPost[]>;
  waitForAuthFailures(n: number, signal?: AbortSignal): Promise<number>;
  /** The next call(s) of `action` ("*": any) answer with the fault. */
  failNext(action: string, fault: Fault, count?: number): void;
  /** The server's token changes (the client's becomes wrong); null: no auth. */
  setToken(token: string | null): void;
  /** Ends every open SSE stream (the server restarted). */
  endSseStreams(): void;
  close(): Promise<void>;
}

export async function startOnebot11Sim(opts: Onebot11SimOptions = {}): Promise<Onebot11Sim> {
  const state = new SimState(opts);
  let token: string | undefined = opts.token === null ? undefined : (opts.token ?? `tok-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`);
  const secrets = [token, opts.webhook?.secret].filter((s): s is string => typeof s === "string" && s !== "");
  const ctx: RouteContext = {
    state,
    token: () => token,
    longPoll: opts.longPoll ?? state.flavor === "go-cqhttp",
    sse: opts.sse ?? state.flavor === "napcat",
    rateLimitMs: opts.rateLimitMs ?? 0,
    open: new Set<ServerResponse>(),
    sseStreams: new Set<ServerResponse>(),
    parked: 0,
  };
  const poster = opts.webhook ? new WebhookPoster(state, opts.webhook) : null;
  state.on("event", (event: Record<string, unknown>) => {
    if (ctx.sse) pushSse(ctx, event);
    poster?.post(event);
  });
  let base = "";
  const server = await startSimServer({ port: opts.port, handle: (req, res) => route(req, res, ctx, base), open: () => ctx.open });
  base = server.url;
  const count = (n: number, get: () => number, events: string[], signal?: AbortSignal) => state.waitFor(() => (get() >= n ? get() : undefined), events, signal);

  return {
    url: base,
    state,
    get token() {
      return token;
    },
    violations: state.violations,
    secrets,
    webhookPosts: poster?.posts ?? [],
    inject: (msg) => state.inject(msg),
    injectEvent: (event) => state.push({ time: Math.floor(Date.now() / 1000), self_id: state.selfId, ...event }),
    heartbeat: () => state.heartbeat(),
    sent: (group) => state.sentTo(group),
    waitForSent: (group, n = 1, signal) => state.waitFor(() => atLeast(state.sentTo(group), n), ["sent"], signal),
    waitForPolls: (n, signal) => count(n, () => state.counters.polls, ["poll"], signal),
    waitForDrained: (signal) => state.waitFor(() => (state.queue.length === 0 ? true : undefined), ["delivered"], signal).then(() => undefined),
    waitForSseStreams: (n, signal) => count(n, () => state.counters.sseConnections, ["sse-open"], signal),
    waitForWebhookPosts: (n, signal) => state.waitFor(() => (poster && poster.posts.filter((p) => p.attempts.length > 0 && (p.accepted || p.attempts.length > (opts.webhook?.retries ?? 3))).length >= n ? poster.posts : undefined), ["webhook-post"], signal),
    waitForAuthFailures: (n, signal) => count(n, () => state.counters.authFailures, ["auth-failure"], signal),
    failNext: (action, fault, n = 1) => {
      const list = state.faults.get(action) ?? [];
      for (let i = 0; i < n; i++) list.push(fault);
      state.faults.set(action, list);
    },
    setToken: (t) => {
      token = t ?? undefined;
      if (t) secrets.push(t);
    },
    endSseStreams: () => {
      for (const res of ctx.sseStreams) res.end();
    },
    close: async () => {
      await poster?.close();
      await server.close();
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      token: { type: "string" },
      flavor: { type: "string", default: "go-cqhttp" },
      format: { type: "string" },
      webhook: { type: "string" },
      secret: { type: "string" },
    },
  });
  const flavor = values.flavor as Flavor;
  if (!["go-cqhttp", "napcat", "lagrange"].includes(flavor)) throw new Error(`--flavor: go-cqhttp, napcat or lagrange`);
  const sim = await startOnebot11Sim({
    port: Number(values.port),
    token: values.token ?? null,
    flavor,
    messageFormat: values.format as "string" | "array" | undefined,
    webhook: values.webhook === undefined ? undefined : { url: values.webhook, secret: values.secret },
  });
  serveStandalone(sim);
}
