// A strict OneBot 11 implementation on loopback (go-cqhttp, NapCat, LLBot or Lagrange flavor):
// HTTP API actions, get_updates long poll, SSE /_events, the HTTP POST reporter, a forward
// WebSocket server and a reverse WebSocket client, get_group_msg_history, with faults.
// Standalone:  node test/sim/onebot11.ts --port N [--token T] [--flavor napcat]
//   (stdout: the base URL, then the forward WebSocket URL)
// Control (test/sim/shared/control.ts): GET /_sim/sent[?group=G], GET /_sim/wait-sent?group=G&n=N,
// POST /_sim/fail-send {fault, count?} (reset, 500, stall, reset-after, 500-after, stall-after, and
// {retcode, msg}), POST /_sim/fail-poll, POST /_sim/inject {group, sender:{nickname,card?,userId?}, message},
// POST /_sim/drop (sockets dropped, no close frame), POST /_sim/silent {on}, GET /_sim/state.
import type { ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import type { Segment } from "../../bridge/networks/onebot11/message.ts";
import { pushSse, route, type RouteContext } from "./onebot11/routes.ts";
import { SimState, type Fault, type Flavor, type SentMessage, type SimGroup, type SimMember, type SimStateOptions } from "./onebot11/state.ts";
import { startSimServer } from "./shared/server.ts";
import { answerControl } from "./shared/control.ts";
import { readJsonObject } from "./shared/http.ts";
import { addMedia, recall, serveMedia, uploadGroupFile } from "./onebot11/rich.ts";
import { ReverseClient, startForwardServer, WsSide, type ReverseClientOptions } from "./onebot11/ws.ts";
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
  /** Heartbeat meta events on every event socket, every this many ms (0: none). */
  heartbeatMs?: number;
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
  /** The forward WebSocket server: ws://127.0.0.1:PORT (`/api`, `/event`, anything else Universal). */
  readonly wsUrl: string;
  /** Connects to the bridge's reverse WebSocket, reconnecting at its interval until close(). */
  connectReverse(o: ReverseClientOptions): ReverseClient;
  /** Drops every socket without a close frame. */
  dropSockets(): void;
  /** While on, nothing at all is sent on any socket (no events, heartbeats, answers). */
  setSilent(on: boolean): void;
  /** Serves a picture at /_sim/media/NAME; returns its URL (put it in an image segment's url). */
  addImage(name: string, data: Uint8Array, mime?: string): string;
  /** Someone (default: a group admin, not the bot) recalls message `messageId`: a group_recall notice. */
  recall(messageId: number, operatorId?: number): void;
  /** A member uploads a group file, reported as the flavor does (see uploadGroupFile). */
  uploadFile(group: number, sender: SimMember, name: string, data: Uint8Array): { fileId: string; messageId?: number };
  /** Resolves once message `messageId` was recalled. */
  waitForRecall(messageId: number, signal?: AbortSignal): Promise<void>;
  /** Resolves once `n` sockets were opened in all. */
  waitForSockets(n: number, signal?: AbortSignal): Promise<number>;
  /** Sockets open now. */
  readonly openSockets: number;
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
  const side = new WsSide(state, () => token, { heartbeatMs: opts.heartbeatMs });
  const forward = await startForwardServer(side);
  const reverses: ReverseClient[] = [];
  if (!state.faults.has("send_group_msg")) state.faults.set("send_group_msg", []);
  if (!state.faults.has("get_updates")) state.faults.set("get_updates", []);
  ctx.control = async (url, req, res) => {
    if (serveMedia(state, url, req, res)) return;
    await answerControl(url, req, res, {
      sentTo: (group) => state.sentTo(group === undefined ? undefined : Number(group)),
      waitForSent: (group, n, signal) => state.waitFor(() => atLeast(state.sentTo(Number(group)), n), ["sent"], signal),
      pollFaults: state.faults.get("get_updates")!,
      sendFaults: state.faults.get("send_group_msg")!,
      sendDraw: state.sendDraw,
    }, {
      "/_sim/inject": async (r) => {
        const b = await readJsonObject(r);
        return { message_id: state.inject({ group: Number(b.group), sender: (b.sender ?? { nickname: "member" }) as SimMember, message: b.message as string }) };
      },
      "/_sim/drop": () => (side.drop(), { dropped: true }),
      "/_sim/silent": async (r) => ((side.silent = (await readJsonObject(r)).on !== false), { silent: side.silent }),
      "/_sim/state": () => ({ counters: state.counters, sent: state.sent.length, violations: state.violations, sockets: side.conns.size }),
    });
  };
  state.on("event", (event: Record<string, unknown>) => {
    if (ctx.sse) pushSse(ctx, event);
    poster?.post(event);
  });
  let base = "";
  const server = await startSimServer({ port: opts.port, handle: (req, res) => route(req, res, ctx, base), open: () => ctx.open });
  base = server.url;
  state.baseUrl = base;
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
    wsUrl: forward.url,
    connectReverse: (o) => {
      const c = new ReverseClient(side, o);
      reverses.push(c);
      return c;
    },
    dropSockets: () => side.drop(),
    setSilent: (on) => {
      side.silent = on;
    },
    addImage: (name, data, mime) => addMedia(state, base, name, data, mime),
    uploadFile: (group, sender, name, data) => uploadGroupFile(state, group, sender, name, data),
    recall: (messageId, operatorId = 30_000) => recall(state, messageId, operatorId),
    waitForRecall: (messageId, signal) => state.waitFor(() => (state.recalled.has(messageId) ? true : undefined), ["recalled"], signal).then(() => undefined),
    waitForSockets: (n, signal) => count(n, () => state.counters.wsConnections, ["ws-open"], signal),
    get openSockets() {
      return side.conns.size;
    },
    close: async () => {
      for (const r of reverses) r.stop();
      side.close();
      await forward.close();
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
      "report-self": { type: "boolean", default: false },
      heartbeat: { type: "string", default: "0" },
    },
  });
  const flavor = values.flavor as Flavor;
  if (!["go-cqhttp", "napcat", "lagrange", "llbot"].includes(flavor)) throw new Error(`--flavor: go-cqhttp, napcat, llbot or lagrange`);
  const sim = await startOnebot11Sim({
    port: Number(values.port),
    token: values.token ?? null,
    flavor,
    messageFormat: values.format as "string" | "array" | undefined,
    webhook: values.webhook === undefined ? undefined : { url: values.webhook, secret: values.secret },
    echoOwn: values["report-self"],
    heartbeatMs: Number(values.heartbeat),
  });
  serveStandalone(sim, [sim.wsUrl]);
}
