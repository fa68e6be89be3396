// The simulated OneBot 11 account: groups and members, the event FIFO (go-cqhttp get_updates),
// what was sent, queued faults and the violations the client committed. No HTTP here.
import { EventEmitter } from "node:events";
import { escapeCqParam, escapeCqText, type Segment } from "../../../bridge/networks/onebot11/message.ts";
import { waitFor } from "../shared/wait-for.ts";

export type Flavor = "go-cqhttp" | "napcat" | "lagrange";

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
  | "stall" // never answered (until the client gives up)
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
  readonly violations: string[] = [];
  readonly counters = { calls: 0, polls: 0, authFailures: 0, sseConnections: 0, webhookPosts: 0 };
  /** Events taken by get_updates answers (in order). */
  readonly delivered: Record<string, unknown>[] = [];
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
    return undefined;
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
    if (this.messageFormat === "array") return segs;
    return segs
      .map((s) =>
        s.type === "text"
          ? escapeCqText(String(s.data.text))
          : `[CQ:${s.type}${Object.entries(s.data).map(([k, v]) => `,${k}=${escapeCqParam(String(v))}`).join("")}]`,
      )
      .join("");
  }

  /** A member says something in a group; returns the message_id. */
  inject(msg: { group: number; sender: SimMember; message: string | Segment[] }): number {
    const m = this.memberByName(msg.group, msg.sender);
    const segs = typeof msg.message === "string" ? [{ type: "text", data: { text: msg.message } }] : msg.message;
    const messageId = this.nextMessageId--;
    this.push({
      time: Math.floor(Date.now() / 1000),
      self_id: this.selfId,
      post_type: "message",
      message_type: "group",
      sub_type: "normal",
      message_id: messageId,
      message_seq: -messageId,
      group_id: msg.group,
      user_id: m.userId,
      anonymous: null,
      font: 0,
      message: this.formatMessage(segs),
      raw_message: this.formatMessage(segs) as string,
      sender: { user_id: m.userId, nickname: m.nickname, card: m.card ?? "", sex: "unknown", age: 0, area: "", level: "", role: "member", title: "" },
    });
    return messageId;
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
    const text = message.filter((s) => s.type === "text").map((s) => String(s.data.text)).join("");
    const sent: SentMessage = { group, message, text, messageId };
    this.sent.push(sent);
    if (this.echoOwn) {
      this.push({
        time: Math.floor(Date.now() / 1000), self_id: this.selfId, post_type: "message_sent", message_type: "group", sub_type: "normal",
        message_id: messageId, group_id: group, user_id: this.selfId, message: this.formatMessage(message),
        sender: { user_id: this.selfId, nickname: this.nickname, card: "" },
      });
    }
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
