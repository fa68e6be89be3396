// The simulated OneBot 11 account: groups and members, the event FIFO (go-cqhttp get_updates),
// what was sent, queued faults and the violations the client committed. No HTTP here.
import { EventEmitter } from "node:events";
import { escapeCqParam, escapeCqText, type Segment } from "../../../bridge/networks/onebot11/message.ts";
import { FaultDraw } from "../shared/fault-draw.ts";
import { waitFor } from "../shared/wait-for.ts";

export type Flavor = "go-cqhttp" | "napcat" | "lagrange" | "llbot";

export interface SimMember {
  userId?: number;
  nickname: string;
  card?: string;
}

export interface SimGroup {
  id: number;
  members?: SimMember[];
}

/** A fault the next matching call answers with instead of its normal answer. */
export type Fault =
  | "500" // HTTP 500, nothing done
  | "503" // HTTP 503, nothing done
  | "429" // HTTP 429 with Retry-After: 1, nothing done (a rate-limiting proxy)
  | "reset" // socket destroyed before anything was done
  | "reset-after" // the call is DONE (a send delivered), then the socket is destroyed
  | "stall" // never answered (until the client gives up), nothing done
  | "stall-after" // the call is DONE, its answer never comes
  | "500-after" // the call is DONE, then answered HTTP 500 (on a socket: the flavor's handler-error retcode)
  | "malformed" // HTTP 200, truncated JSON (a send is delivered first; other calls take nothing)
  | "html" // HTTP 200, an HTML page
  | "auth" // answered as for a wrong token
  | "end" // SSE: the stream ends at once
  | { slow: number } // answered after this many ms (go-cqhttp's rate limiter makes calls wait)
  | { retcode: number; msg?: string }; // HTTP 200 {status:"failed", retcode}

export interface SentMessage {
  group: number;
  message: Segment[];
  /** The text of the text segments. */
  text: string;
  messageId: number;
}

export interface SimStateOptions {
  flavor?: Flavor;
  selfId?: number;
  nickname?: string;
  groups?: SimGroup[];
  messageFormat?: "string" | "array";
  /** Own sends come back as `post_type: "message_sent"` events (go-cqhttp). */
  echoOwn?: boolean;
  /** go-cqhttp's max-queue-size: overflow drops the oldest. 0: unbounded. */
  maxQueue?: number;
  /** get_group_msg_history is served (default true; false: answered as an unknown action). */
  history?: boolean;
  /** The bot's role in every group: a member recalls only its own messages, an admin or owner any (default member). */
  botRole?: "member" | "admin" | "owner";
}

/** A failure a flavor answers: its retcode and words. */
export interface SimFailure {
  retcode: number;
  msg: string;
}

/** The longest text the simulated server sends (Mrs4s in go-cqhttp#744: "最多能发5000字"). */
export const SIM_MAX_TEXT = 5000;

export class SimState extends EventEmitter {
  readonly flavor: Flavor;
  readonly selfId: number;
  readonly nickname: string;
  readonly groups: Map<number, SimMember[]>;
  readonly messageFormat: "string" | "array";
  echoOwn: boolean;
  readonly maxQueue: number;
  /** go-cqhttp's global FIFO for get_updates: removed on delivery. */
  readonly queue: Record<string, unknown>[] = [];
  readonly sent: SentMessage[] = [];
  /** Faults by action ("*" for any), used in order. */
  readonly faults = new Map<string, Fault[]>();
  /** Send faults drawn per request when none is queued (POST /_sim/fault-rates). */
  readonly sendDraw = new FaultDraw();
  readonly violations: string[] = [];
  readonly counters = { calls: 0, polls: 0, authFailures: 0, sseConnections: 0, webhookPosts: 0, wsConnections: 0, wsCalls: 0 };
  /** Events taken by get_updates answers (in order). */
  readonly delivered: Record<string, unknown>[] = [];
  /** Per group, every message (members' and our own), oldest first: what get_group_msg_history reads. */
  readonly histories = new Map<number, Record<string, unknown>[]>();
  readonly historyEnabled: boolean;
  /** The bot's role in the groups (delete_msg rights); may be changed by a test. */
  botRole: "member" | "admin" | "owner";
  /** QQ lets a member (not an admin) recall its own messages for this long (s). */
  recallWindowSeconds = 120;
  /** Message ids recalled (delete_msg or a member's recall). */
  readonly recalled = new Set<number>();
  /** Files the sim serves at /_sim/media/NAME (the URLs its image segments carry). */
  readonly media = new Map<string, { data: Uint8Array; mime: string }>();
  /** The sim's base URL (set once it listens): the URLs of the files it serves. */
  baseUrl = "";
  /** URLs fetched for image segments of sends, with the bytes they gave. */
  readonly fetched: { url: string; bytes: number }[] = [];
  private readonly nextSeq = new Map<number, number>();
  private nextMessageId = -1289;
  private nextUserId = 20_001;

  constructor(opts: SimStateOptions = {}) {
    super();
    this.setMaxListeners(100);
    this.flavor = opts.flavor ?? "go-cqhttp";
    this.selfId = opts.selfId ?? 10_001;
    this.nickname = opts.nickname ?? "bridge-bot";
    this.messageFormat = opts.messageFormat ?? (this.flavor === "napcat" ? "array" : "string");
    this.echoOwn = opts.echoOwn ?? false;
    this.maxQueue = opts.maxQueue ?? 2000;
    this.historyEnabled = opts.history ?? true;
    this.botRole = opts.botRole ?? "member";
    this.groups = new Map(
      (opts.groups ?? [{ id: 123456, members: [{ nickname: "alice", card: "Alice" }, { nickname: "bob" }] }]).map((g) => [
        g.id,
        (g.members ?? []).map((m) => ({ ...m, userId: m.userId ?? this.nextUserId++ })),
      ]),
    );
  }

  violation(reason: string): void {
    this.violations.push(reason);
    this.emit("violation", reason);
  }

  takeFault(action: string): Fault | undefined {
    for (const key of [action, "*"]) {
      const list = this.faults.get(key);
      if (list?.length) return list.shift();
    }
    return action === "send_group_msg" || action === "send_msg" ? this.sendDraw.draw() : undefined;
  }

  member(group: number, userId: number): SimMember | undefined {
    return this.groups.get(group)?.find((m) => m.userId === userId);
  }

  /** A member (created on first use) of a group. */
  memberByName(group: number, who: SimMember): SimMember {
    const members = this.groups.get(group);
    if (!members) throw new Error(`no group ${group}`);
    let m = members.find((x) => (who.userId !== undefined ? x.userId === who.userId : x.nickname === who.nickname));
    if (!m) {
      m = { ...who, userId: who.userId ?? this.nextUserId++ };
      members.push(m);
    } else if (who.card !== undefined) m.card = who.card;
    return m;
  }

  /** The message field in the configured format. */
  formatMessage(segs: Segment[]): string | Segment[] {
    return this.formatMessageAs(this.messageFormat, segs);
  }

  formatMessageAs(format: "string" | "array", segs: Segment[]): string | Segment[] {
    if (format === "array") return segs;
    return segs
      .map((s) =>
        s.type === "text"
          ? escapeCqText(String(s.data.text))
          : `[CQ:${s.type}${Object.entries(s.data).map(([k, v]) => `,${k}=${escapeCqParam(String(v))}`).join("")}]`,
      )
      .join("");
  }

  /** A member says something in a group; returns the message_id. */
  inject(msg: { group: number; sender: SimMember; message: string | Segment[]; time?: number }): number {
    const m = this.memberByName(msg.group, msg.sender);
    const segs = typeof msg.message === "string" ? [{ type: "text", data: { text: msg.message } }] : msg.message;
    const messageId = this.nextMessageId--;
    const event = this.messageEvent("message", msg.group, messageId, m.userId!, { nickname: m.nickname, card: m.card ?? "" }, segs, msg.time);
    this.remember(msg.group, event);
    this.push(event);
    return messageId;
  }

  /**
   * A group message event as the flavor writes it (protocols.md §2.7.2): message_seq is the real
   * per-group sequence on go-cqhttp and LLBot, equal to message_id on NapCat, absent on Lagrange.
   */
  private messageEvent(postType: string, group: number, messageId: number, userId: number, sender: { nickname: string; card: string }, segs: Segment[], time?: number): Record<string, unknown> {
    const seq = (this.nextSeq.get(group) ?? 1000) + 1;
    this.nextSeq.set(group, seq);
    const formatted = this.formatMessage(segs);
    return {
      time: time ?? Math.floor(Date.now() / 1000),
      self_id: this.selfId,
      post_type: postType,
      message_type: "group",
      sub_type: "normal",
      message_id: messageId,
      ...(this.flavor === "lagrange" ? {} : { message_seq: this.flavor === "napcat" ? messageId : seq }),
      ...(this.flavor === "napcat" ? { real_seq: String(seq) } : {}),
      ...(postType === "message_sent" ? { message_sent_type: "self", target_id: group } : {}),
      group_id: group,
      user_id: userId,
      anonymous: null,
      font: 0,
      message: formatted,
      raw_message: typeof formatted === "string" ? formatted : this.formatMessageAs("string", segs),
      sender: { user_id: userId, nickname: sender.nickname, card: sender.card, sex: "unknown", age: 0, area: "", level: "", role: "member", title: "" },
    };
  }

  private remember(group: number, event: Record<string, unknown>): void {
    const list = this.histories.get(group) ?? [];
    list.push(event);
    this.histories.set(group, list);
  }

  /**
   * get_group_msg_history as the flavor pages it (protocols.md §2.7.3): go-cqhttp and LLBot take
   * the real `message_seq` (0: the latest), NapCat a message id in `message_seq`, Lagrange
   * `message_id`; the anchor included, `count` (go-cqhttp: 20) messages up to it, oldest first.
   * Our own messages are `message_sent` where the flavor reports them so.
   */
  history(p: Record<string, unknown>): { messages: Record<string, unknown>[] } | SimFailure {
    const group = typeof p.group_id === "number" ? p.group_id : typeof p.group_id === "string" && /^\d+$/.test(p.group_id) ? Number(p.group_id) : NaN;
    if (!this.groups.has(group)) return { retcode: this.flavor === "go-cqhttp" ? 100 : 1200, msg: "GROUP_NOT_FOUND" };
    const list = this.histories.get(group) ?? [];
    const count = this.flavor === "go-cqhttp" ? 20 : typeof p.count === "number" && p.count > 0 ? p.count : 20;
    const field = this.flavor === "lagrange" ? "message_id" : "message_seq";
    if (this.flavor === "lagrange" && p.message_seq !== undefined) this.violation("Lagrange's get_group_msg_history takes message_id, not message_seq");
    if (this.flavor !== "lagrange" && p.message_id !== undefined) this.violation(`${this.flavor}'s get_group_msg_history takes message_seq, not message_id`);
    const anchor = p[field];
    let end = list.length; // exclusive
    if (anchor !== undefined && anchor !== 0 && anchor !== "0") {
      const key = this.flavor === "napcat" || this.flavor === "lagrange" ? "message_id" : "message_seq";
      const i = list.findIndex((e) => String(e[key]) === String(anchor));
      if (i < 0) {
        // go-cqhttp and LLBot: a sequence below the first known gives what is older (nothing here).
        if ((this.flavor === "go-cqhttp" || this.flavor === "llbot") && typeof anchor === "number") {
          end = list.filter((e) => (e.message_seq as number) <= anchor).length;
        } else return { retcode: this.flavor === "go-cqhttp" ? 100 : this.flavor === "lagrange" ? 200 : 1200, msg: `消息${String(anchor)}不存在` };
      } else end = i + 1;
    }
    const page = list.slice(Math.max(0, end - count), end);
    if (page.length === 0 && this.flavor === "napcat") return { retcode: 1200, msg: "消息不存在" };
    return { messages: page.map((e) => ({ ...e })) };
  }

  /** get_version_info's app_name per flavor. */
  versionInfo(): Record<string, unknown> {
    const names: Record<Flavor, string> = { "go-cqhttp": "go-cqhttp", napcat: "NapCat.Onebot", lagrange: "Lagrange.OneBot", llbot: "LLOneBot" };
    return { app_name: names[this.flavor], app_version: "sim", protocol_version: "v11" };
  }

  /** The retcode a flavor answers for a handler error (an exception inside the action). */
  handlerError(): SimFailure {
    if (this.flavor === "go-cqhttp") return { retcode: 100, msg: "SEND_MSG_API_ERROR" };
    if (this.flavor === "lagrange") return { retcode: 200, msg: "handler error" };
    return { retcode: 1200, msg: "handler error" };
  }

  heartbeat(): void {
    this.push({ time: Math.floor(Date.now() / 1000), self_id: this.selfId, post_type: "meta_event", meta_event_type: "heartbeat", interval: 5000, status: { online: true, good: true } });
  }

  /** Any event, as every transport reports it. */
  push(event: Record<string, unknown>): void {
    this.queue.push(event);
    if (this.maxQueue > 0 && this.queue.length > this.maxQueue) this.queue.shift();
    this.emit("event", event);
  }

  /** get_updates: takes up to `limit` (≤0: all) queued events. */
  take(limit: number): Record<string, unknown>[] {
    const events = this.queue.splice(0, limit > 0 ? limit : this.queue.length);
    this.delivered.push(...events);
    if (events.length > 0) this.emit("delivered", events.length);
    return events;
  }

  recordSent(group: number, message: Segment[]): SentMessage {
    const messageId = this.nextMessageId--;
    // An `at` reads as the "@Name" it shows in QQ (so a test comparing texts sees the mention).
    const at = (qq: unknown): string => {
      const m = this.member(group, Number(qq));
      return `@${qq === "all" ? "all" : (m?.card || m?.nickname || String(qq))}`;
    };
    const text = message.filter((s) => s.type === "text" || s.type === "at").map((s) => (s.type === "at" ? at(s.data.qq) : String(s.data.text))).join("");
    const sent: SentMessage = { group, message, text, messageId };
    this.sent.push(sent);
    // In history whatever the switch; as a live event only with it (reportSelfMessage and alike),
    // as message_sent, except Lagrange (IgnoreSelf: false) which reports an ordinary message.
    const postType = this.flavor === "lagrange" ? "message" : "message_sent";
    const event = this.messageEvent(postType, group, messageId, this.selfId, { nickname: this.nickname, card: "" }, message);
    this.remember(group, event);
    if (this.echoOwn) this.push(event);
    this.emit("sent", sent);
    return sent;
  }

  sentTo(group?: number): SentMessage[] {
    return group === undefined ? [...this.sent] : this.sent.filter((m) => m.group === group);
  }

  /** Resolves when `check` returns a value, re-checked on the given events. */
  waitFor<T>(check: () => T | undefined, events: string[], signal?: AbortSignal): Promise<T> {
    return waitFor(this, check, events, signal);
  }
}
