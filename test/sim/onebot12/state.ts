// The simulated OneBot 12 implementation: its bots, groups, event buffer, what was sent, injected
// faults and a log of every request on the sim's own clock. No HTTP here: routes.ts speaks the wire.
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { FaultDraw } from "../shared/fault-draw.ts";
import { atLeast, waitFor } from "../shared/wait-for.ts";

export interface SimBot {
  platform: string;
  user_id: string;
  online?: boolean;
}

export interface SimMember {
  user_id: string;
  user_name: string;
  /** The group card; "" or absent when unset. */
  user_displayname?: string;
}

export interface SimGroup {
  group_id: string;
  group_name?: string;
  members?: SimMember[];
}

export interface SimSegment {
  type: string;
  data: Record<string, unknown>;
}

/**
 * How get_latest_events treats `timeout` (protocols.md §3):
 * - "honour": the spec: hold up to `timeout` s, 0 answers at once; meta events never listed.
 * - "instant": ignores timeout and answers at once, [] when idle (an implementation without long polling).
 * - "gocqhttp": go-cqhttp's v12 mode: timeout 0 blocks until an event; meta events (heartbeats) included.
 */
export type TimeoutMode = "honour" | "instant" | "gocqhttp";

/** What a second get_latest_events gets while one is held (implementation-defined, spec §3). */
export type ConcurrentPolls = "error" | "empty" | "same";

/** A fault the next get_latest_events answers with (nothing is taken from the buffer). */
export type PollFault =
  | "500" | "502" | "503" | "429" // HTTP errors (429 with Retry-After: 1)
  | "401" // the token is refused for this one request
  | "reset" // socket destroyed without an answer
  | "stall" // never answered (until the client gives up)
  | "malformed" // truncated JSON, HTTP 200
  | "html" // an HTML error page with HTTP 200
  | { retcode: number } // status "failed" with this retcode
  | { data: unknown }; // status "ok" with this data as is (a server serving bodies of the wrong shape)

/**
 * A fault the next send_message answers with. The common names (test/sim/shared/control.ts):
 * `reset`, `500`, `stall` fail BEFORE the action runs (nothing sent); `reset-after`, `500-after`,
 * `stall-after` fail AFTER it ran (recorded in `sent` and echoed as an event) with the answer lost.
 */
export type SendFault =
  | "429" // not delivered, HTTP 429 with Retry-After: 2
  | "503" // not delivered
  | "reset" // not delivered, socket destroyed
  | "reset-before" // the same as "reset" (older name)
  | "500" // not delivered, HTTP 500
  | "stall" // not delivered, never answered (until the client gives up)
  | "reset-after" // DELIVERED, then the socket is destroyed
  | "500-after" // DELIVERED, then HTTP 500 (a crash while answering)
  | "stall-after" // DELIVERED, never answered
  | "malformed" // DELIVERED, body unreadable
  | { retcode: number }; // not delivered, status "failed"

export interface SentMessage {
  group: string;
  message: SimSegment[];
  /** The text segments joined, other segments as "[type]". */
  text: string;
  message_id: string;
  self: SimBot;
  at: number;
}

export interface SimRequest {
  action: string;
  params: Record<string, unknown>;
  /** Milliseconds on the sim's clock (since it started) when the request was read. */
  at: number;
}

export interface SimStateOptions {
  bots?: SimBot[];
  groups?: SimGroup[];
  timeoutMode?: TimeoutMode;
  concurrentPolls?: ConcurrentPolls;
  /** Drop the oldest events beyond this many (event_buffer_size; 0: unlimited). */
  bufferSize?: number;
  /**
   * Our own sends come back as message events with our user_id, as real implementations report
   * them (default true; the client hands them on as own echoes, never relays them).
   */
  echoOwn?: boolean;
  /** get_latest_events switched off (event_enabled: false): 10002. */
  eventsEnabled?: boolean;
  /** get_status leaves out the bots list (an implementation where only get_self_info names the bot). */
  statusWithoutBots?: boolean;
  /** The bot's role in the groups: a member deletes only its own messages, an admin any (default member). */
  botRole?: "member" | "admin";
}

/** A file the sim holds (uploaded by URL, or added by a test): served at /_sim/file/ID. */
export interface SimFile {
  name: string;
  data: Uint8Array;
  mime: string;
}

/** An event in the buffer; `meta` ones are listed only in gocqhttp mode. */
type BufferedEvent = Record<string, unknown>;

export class SimState extends EventEmitter {
  readonly bots: SimBot[];
  readonly groups: Map<string, SimGroup & { members: SimMember[] }>;
  timeoutMode: TimeoutMode;
  concurrentPolls: ConcurrentPolls;
  bufferSize: number;
  echoOwn: boolean;
  eventsEnabled: boolean;
  statusWithoutBots: boolean;
  /** delete_message rights; a test may change it. */
  botRole: "member" | "admin";
  /** Every group message by id (members' and ours): who said it where (reply and delete_message check it). */
  readonly messages = new Map<string, { group: string; userId: string }>();
  /** Message ids deleted. */
  readonly deleted = new Set<string>();
  /** Files by file_id. */
  readonly files = new Map<string, SimFile>();
  /** How long the server's send queue holds each send_message before doing it (ms). */
  sendDelayMs = 0;
  /** The access tokens the server takes; [] means none is configured (no auth). */
  tokens: string[] = [];

  readonly buffer: BufferedEvent[] = [];
  readonly pollFaults: PollFault[] = [];
  readonly sendFaults: SendFault[] = [];
  /** Send faults drawn per request when none is queued (POST /_sim/fault-rates). */
  readonly sendDraw = new FaultDraw();
  readonly sent: SentMessage[] = [];
  readonly requests: SimRequest[] = [];
  /** When (sim clock) each request with a refused or missing token came in. */
  readonly authFailuresAt: number[] = [];
  /** Every request the sim refused for breaking the protocol (a correct client causes none). */
  readonly violations: string[] = [];
  readonly counters = { polls: 0, heldPolls: 0, concurrentPolls: 0, authFailures: 0, memberInfo: 0, dropped: 0, eventsTaken: 0 };
  /** get_latest_events requests held right now. */
  holding = 0;
  private readonly started = performance.now();
  private nextMessageId = 6283;

  constructor(opts: SimStateOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.bots = (opts.bots ?? [{ platform: "qq", user_id: "10001" }]).map((b) => ({ online: true, ...b }));
    this.groups = new Map(
      (opts.groups ?? [{ group_id: "12345", group_name: "Dev Group", members: [{ user_id: "20001", user_name: "alice", user_displayname: "Alice" }, { user_id: "20002", user_name: "bob" }] }]).map(
        (g) => [g.group_id, { ...g, members: [...(g.members ?? [])] }],
      ),
    );
    this.timeoutMode = opts.timeoutMode ?? "honour";
    this.concurrentPolls = opts.concurrentPolls ?? "error";
    this.bufferSize = opts.bufferSize ?? 0;
    this.echoOwn = opts.echoOwn ?? true;
    this.eventsEnabled = opts.eventsEnabled ?? true;
    this.statusWithoutBots = opts.statusWithoutBots ?? false;
    this.botRole = opts.botRole ?? "member";
  }

  /** The sim's clock: ms since it started. */
  now(): number {
    return performance.now() - this.started;
  }

  violation(reason: string): void {
    this.violations.push(reason);
    this.emit("violation", reason);
  }

  logRequest(action: string, params: Record<string, unknown>): void {
    this.requests.push({ action, params, at: this.now() });
    if (action === "get_latest_events") this.counters.polls++;
    this.emit("request", action);
  }

  requestsOf(action: string): SimRequest[] {
    return this.requests.filter((r) => r.action === action);
  }

  botOf(self: unknown): SimBot | undefined {
    const s = self as { platform?: unknown; user_id?: unknown } | null;
    return this.bots.find((b) => b.platform === s?.platform && b.user_id === s?.user_id);
  }

  member(groupId: string, userId: string): SimMember | undefined {
    return this.groups.get(groupId)?.members.find((m) => m.user_id === userId);
  }

  // --- events ---------------------------------------------------------------------------------

  /** Queues an event of `bot` (its own id, self and time added), as the implementation reports them. */
  queueBotEvent(bot: SimBot, fields: Omit<BufferedEvent, "id" | "self" | "time">): void {
    this.queue({ id: randomUUID(), self: { platform: bot.platform, user_id: bot.user_id }, time: Date.now() / 1000, ...fields });
  }

  /** Puts any event in the buffer (dropping the oldest beyond bufferSize). */
  queue(event: BufferedEvent): void {
    this.buffer.push(event);
    if (this.bufferSize > 0) {
      while (this.buffer.length > this.bufferSize) {
        this.buffer.shift();
        this.counters.dropped++;
      }
    }
    this.emit("queued");
  }

  /**
   * A member says something in a group. `member` is added to the group (or its names updated);
   * `bot` picks which bot of the connection the event is for (default the first).
   */
  inject(msg: { group: string; member: SimMember; message: string | SimSegment[]; bot?: number; alt?: string }): string {
    const group = this.groups.get(msg.group);
    if (!group) throw new Error(`no group "${msg.group}"`);
    const known = group.members.find((m) => m.user_id === msg.member.user_id);
    if (!known) group.members.push({ ...msg.member });
    else Object.assign(known, msg.member);
    const message = typeof msg.message === "string" ? [{ type: "text", data: { text: msg.message } }] : msg.message;
    return this.queueMessage(msg.group, msg.member.user_id, message, this.bots[msg.bot ?? 0]!, msg.alt);
  }

  private queueMessage(group: string, userId: string, message: SimSegment[], bot: SimBot, alt?: string, message_id = String(this.nextMessageId++)): string {
    this.messages.set(message_id, { group, userId });
    this.queueBotEvent(bot, {
      type: "message",
      detail_type: "group",
      sub_type: "",
      message_id,
      message,
      alt_message: alt ?? altText(message),
      group_id: group,
      user_id: userId,
    });
    return message_id;
  }

  /** A heartbeat meta event (only go-cqhttp's v12 mode lists these in get_latest_events). */
  heartbeat(): void {
    if (this.timeoutMode !== "gocqhttp") return;
    this.queue({ id: randomUUID(), time: Date.now() / 1000, type: "meta", detail_type: "heartbeat", sub_type: "", interval: 5000 });
  }

  /** Takes up to `limit` (0: all) listable events; they are gone from the server afterwards. */
  takeEvents(limit: number): BufferedEvent[] {
    const out: BufferedEvent[] = [];
    for (let i = 0; i < this.buffer.length && (limit === 0 || out.length < limit); ) {
      const e = this.buffer[i]!;
      if (e.type === "meta" && this.timeoutMode !== "gocqhttp") {
        i++;
        continue;
      }
      out.push(e);
      this.buffer.splice(i, 1);
    }
    this.counters.eventsTaken += out.length;
    if (out.length > 0) this.emit("taken", out.length);
    return out;
  }

  /** Whether a get_latest_events would find something to list now. */
  hasListable(): boolean {
    return this.buffer.some((e) => e.type !== "meta" || this.timeoutMode === "gocqhttp");
  }

  // --- sending --------------------------------------------------------------------------------

  recordSent(group: string, message: SimSegment[], bot: SimBot): SentMessage {
    // One id space for every message, as on a platform: the echo carries the id the send answers.
    const sent: SentMessage = { group, message, text: altText(message), message_id: String(this.nextMessageId++), self: bot, at: this.now() };
    this.sent.push(sent);
    this.messages.set(sent.message_id, { group, userId: bot.user_id });
    if (this.echoOwn) this.queueMessage(group, bot.user_id, message, bot, undefined, sent.message_id);
    this.emit("sent", sent);
    return sent;
  }

  sentTo(group?: string): SentMessage[] {
    return group === undefined ? [...this.sent] : this.sent.filter((m) => m.group === group);
  }

  // --- waiting --------------------------------------------------------------------------------

  /** Resolves once `n` messages were sent to `group` (at once if they already were). */
  waitForSent(group: string, n = 1, signal?: AbortSignal): Promise<SentMessage[]> {
    return this.waitFor(() => atLeast(this.sentTo(group), n), signal);
  }

  /** Resolves once `n` requests of `action` were read in all. */
  waitForRequests(action: string, n: number, signal?: AbortSignal): Promise<SimRequest[]> {
    return this.waitFor(() => atLeast(this.requestsOf(action), n), signal);
  }

  /** Resolves once the buffer holds nothing listable (every event was handed to a poll). */
  waitForTaken(signal?: AbortSignal): Promise<void> {
    return this.waitFor(() => (this.hasListable() ? undefined : true), signal).then(() => undefined);
  }

  /** Resolves when `check` returns a value; re-checked on every state change. */
  waitFor<T>(check: () => T | undefined, signal?: AbortSignal): Promise<T> {
    return waitFor(this, check, ["request", "queued", "taken", "sent", "violation", "answered", "holding"], signal);
  }
}

/** The implementation's readable rendering (alt_message): text as is, other segments in brackets. */
export function altText(message: SimSegment[]): string {
  return message.map((s) => (s.type === "text" ? String(s.data.text ?? "") : s.type === "image" ? "[图片]" : `[${s.type}]`)).join("");
}
