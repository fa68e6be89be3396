// A strict OneBot 12 HTTP implementation on one loopback port (POST / for every action), with
// get_latest_events in the spec's, an "answers at once", or go-cqhttp's flavour, fault injection
// and a control API (in-process and over HTTP at /_sim/...). Standalone:
//   node test/sim/onebot12.ts --port N [--token T] [--timeout-mode honour|instant|gocqhttp]
// (first stdout line: the base URL, i.e. the `url` to configure).
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import { queueFault } from "./shared/control.ts";
import { startSimServer } from "./shared/server.ts";
import { serveStandalone } from "./shared/standalone.ts";
import { control } from "./onebot12/control.ts";
import { addFile, deleteMessage } from "./onebot12/rich.ts";
import { GROUP_NOT_FOUND, MEMBER_NOT_FOUND, route, type RouteContext } from "./onebot12/routes.ts";
import {
  SimState,
  type ConcurrentPolls,
  type PollFault,
  type SendFault,
  type SentMessage,
  type SimBot,
  type SimGroup,
  type SimMember,
  type SimRequest,
  type SimSegment,
  type SimStateOptions,
  type TimeoutMode,
} from "./onebot12/state.ts";

export { GROUP_NOT_FOUND, MEMBER_NOT_FOUND };
export type { ConcurrentPolls, PollFault, SendFault, SentMessage, SimBot, SimGroup, SimMember, SimRequest, SimSegment, TimeoutMode };

export interface Onebot12SimOptions extends SimStateOptions {
  port?: number;
  /** The access token required (Bearer header or access_token query). Default: a random one; null: none. */
  token?: string | null;
}

export interface Onebot12Sim {
  /** The action endpoint (POST here). */
  readonly url: string;
  /** The token the sim requires ("" when none). */
  readonly token: string;
  readonly state: SimState;
  /** Protocol rules the client broke: each such request was refused as the real server would. */
  readonly violations: string[];
  inject(msg: { group: string; member: SimMember; message: string | SimSegment[]; bot?: number; alt?: string }): string;
  /** Any raw event (notices, private messages, other platforms' extensions). */
  queueEvent(event: Record<string, unknown>): void;
  heartbeat(): void;
  sent(group?: string): SentMessage[];
  waitForSent(group: string, n?: number, signal?: AbortSignal): Promise<SentMessage[]>;
  waitForRequests(action: string, n: number, signal?: AbortSignal): Promise<SimRequest[]>;
  /** Resolves once every listable event was handed to a poll. */
  waitForTaken(signal?: AbortSignal): Promise<void>;
  failNextPoll(fault: PollFault, count?: number): void;
  failNextSend(fault: SendFault, count?: number): void;
  /** A file the sim serves (get_file gives its URL); returns its file_id for an image segment. */
  addFile(name: string, data: Uint8Array, mime?: string): string;
  /** Someone (default: a group admin, not the bot) deletes message `messageId`: a group_message_delete notice. */
  deleteMessage(messageId: string, operatorId?: string): void;
  /** Replaces the accepted tokens (e.g. to refuse the client's, then take it again). */
  setTokens(tokens: string[]): void;
  close(): Promise<void>;
}

export async function startOnebot12Sim(opts: Onebot12SimOptions = {}): Promise<Onebot12Sim> {
  const state = new SimState(opts);
  const token = opts.token === null ? "" : (opts.token ?? `ob12-${randomBytes(12).toString("hex")}`);
  state.tokens = token === "" ? [] : [token];
  let baseUrl = "";
  const parked = new Set<ServerResponse>();
  const ctx: RouteContext = { state, baseUrl: () => baseUrl, parked };
  const server = await startSimServer({
    port: opts.port,
    handle: (req, res, url) => (url.pathname.startsWith("/_sim/") ? control(url, req, res, state) : route(req, res, ctx)),
    open: () => parked,
  });
  baseUrl = server.url;

  return {
    url: `${baseUrl}/`,
    token,
    state,
    violations: state.violations,
    inject: (msg) => state.inject(msg),
    queueEvent: (event) => state.queue(event),
    heartbeat: () => state.heartbeat(),
    sent: (group) => state.sentTo(group),
    waitForSent: (group, n, signal) => state.waitForSent(group, n, signal),
    waitForRequests: (action, n, signal) => state.waitForRequests(action, n, signal),
    waitForTaken: (signal) => state.waitForTaken(signal),
    failNextPoll: (fault, count) => queueFault(state.pollFaults, fault, count),
    failNextSend: (fault, count) => queueFault(state.sendFaults, fault, count),
    addFile: (name, data, mime) => addFile(state, name, data, mime),
    deleteMessage: (messageId, operatorId = "30000") => deleteMessage(state, messageId, operatorId),
    setTokens: (tokens) => {
      state.tokens = tokens;
    },
    close: () => server.close(),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "0" }, token: { type: "string" }, "timeout-mode": { type: "string", default: "honour" } },
  });
  const mode = values["timeout-mode"];
  if (mode !== "honour" && mode !== "instant" && mode !== "gocqhttp") {
    process.stderr.write(`--timeout-mode must be honour, instant or gocqhttp, not ${mode}\n`);
    process.exit(1);
  }
  const sim = await startOnebot12Sim({ port: Number(values.port), token: values.token ?? null, timeoutMode: mode });
  serveStandalone(sim);
}
