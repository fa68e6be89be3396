// A strict SmartQQ (WebQQ) server on one loopback port, routed by path, with fault injection and
// a control API (in-process and over HTTP at /_sim/...). Standalone:
//   node test/sim/webqq.ts --port N [--hold MS] [--auto-scan N]   (first stdout line: base URL)
import type { ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import { queueFault } from "./shared/control.ts";
import { startSimServer } from "./shared/server.ts";
import { serveStandalone } from "./shared/standalone.ts";
import { control } from "./webqq/control.ts";
import { route, type RouteContext } from "./webqq/routes.ts";
import { SimState, type RelinkFault, type GroupListFault, type PollFault, type SendFault, type SentMessage, type SimElement, type SimGroupConfig, type SimMember } from "./webqq/state.ts";

export type { RelinkFault, GroupListFault, PollFault, SendFault, SentMessage, SimElement, SimGroupConfig, SimMember };

export interface WebqqSimOptions {
  port?: number;
  /** How long an idle poll2 is held before its idle answer (ms). Default 60000, as the real server. */
  holdMs?: number;
  /** The QR auto-confirms after this many status polls (true: 2). Default: only sim.scan(). */
  autoScan?: boolean | number;
  /** The account's QQ number (login2's uin). */
  qq?: number;
  /** The account's groups and their members. Default: "Dev Group" with alice (card "Alice") and bob. */
  groups?: SimGroupConfig[];
  /** Idle answers, used in turn. Default all three: 102, 504, empty result. */
  idleVariants?: ("102" | "504" | "empty")[];
  /** Echo our own sends back in poll2 (the client must filter them by its uin). */
  echoOwn?: boolean;
}

export interface WebqqSim {
  /** Base URL serving every host's paths (set all four client endpoints to it). */
  readonly url: string;
  readonly state: SimState;
  /** Protocol violations the sim refused (a correct client causes none). */
  readonly violations: string[];
  inject(msg: { group: string; sender: SimMember; content: string | SimElement[] }): number;
  sent(group?: string): SentMessage[];
  waitForSent(group: string, n?: number, signal?: AbortSignal): Promise<SentMessage[]>;
  waitForLogins(n: number, signal?: AbortSignal): Promise<number>;
  waitForDelivered(signal?: AbortSignal): Promise<void>;
  failNextPoll(fault: PollFault, count?: number): void;
  failNextSend(fault: SendFault, count?: number): void;
  failNextGroupList(fault: GroupListFault, count?: number): void;
  /** The next getvfwebqq (relink or login) fails this way instead of answering. */
  failNextRelink(fault: RelinkFault, count?: number): void;
  /** The account joins a group while logged in (its gid is new to the client). */
  joinGroup(group: SimGroupConfig): void;
  /** The login2 session is gone now: the next poll2 or send answers 121 (a relink is needed). */
  loseSession(): void;
  /** The current cookies no longer relink (getvfwebqq 100001, login2 103) until a new QR login. */
  refuseRelink(): boolean;
  /** Scan and confirm the pending QR. */
  scan(): boolean;
  expireQr(): void;
  close(): Promise<void>;
}

export async function startWebqqSim(opts: WebqqSimOptions = {}): Promise<WebqqSim> {
  const state = new SimState(opts);
  let baseUrl = "";
  const parked = new Set<ServerResponse>();
  const ctx: RouteContext = {
    state,
    baseUrl: () => baseUrl,
    holdMs: opts.holdMs ?? 60_000,
    idleVariants: opts.idleVariants ?? ["102", "504", "empty"],
    parked,
    idleTurn: 0,
  };
  const server = await startSimServer({
    port: opts.port,
    handle: (req, res, url) => (url.pathname.startsWith("/_sim/") ? control(url, req, res, state) : route(req, res, ctx)),
    open: () => parked,
  });
  baseUrl = server.url;

  return {
    url: baseUrl,
    state,
    violations: state.violations,
    inject: (msg) => state.inject(msg),
    sent: (group) => state.sentTo(group),
    waitForSent: (group, n, signal) => state.waitForSent(group, n, signal),
    waitForLogins: (n, signal) => state.waitForLogins(n, signal),
    waitForDelivered: (signal) => state.waitForDelivered(signal),
    failNextPoll: (fault, count) => queueFault(state.pollFaults, fault, count),
    failNextSend: (fault, count) => queueFault(state.sendFaults, fault, count),
    failNextGroupList: (fault, count) => queueFault(state.groupListFaults, fault, count),
    failNextRelink: (fault, count) => queueFault(state.relinkFaults, fault, count),
    joinGroup: (group) => state.joinGroup(group),
    loseSession: () => state.dropSession(),
    refuseRelink: () => state.refuseRelink(),
    scan: () => state.scan(),
    expireQr: () => state.expireQr(),
    close: () => server.close(),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "0" }, hold: { type: "string" }, "auto-scan": { type: "string" } },
  });
  const sim = await startWebqqSim({
    port: Number(values.port),
    holdMs: values.hold === undefined ? undefined : Number(values.hold),
    autoScan: values["auto-scan"] === undefined ? undefined : Number(values["auto-scan"]),
  });
  serveStandalone(sim);
}
