// The simulated QQ bot: credentials and access tokens with their real lifetime rules, the guild
// channels and groups it is in, the messages said there (the reply windows they open), what the
// bot sent, proactive quotas, injected faults and recorded violations (protocols.md §6).
// No wire here: routes.ts (OpenAPI), gateway.ts (WebSocket) and webhook.ts speak it.
import { EventEmitter } from "node:events";
import { randomBytes, randomUUID } from "node:crypto";
import { atLeast, waitFor } from "../shared/wait-for.ts";

export const INTENTS = {
  GUILDS: 1 << 0,
  GUILD_MEMBERS: 1 << 1,
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  DIRECT_MESSAGE: 1 << 12,
  GROUP_AND_C2C_EVENT: 1 << 25,
  INTERACTION: 1 << 26,
  MESSAGE_AUDIT: 1 << 27,
  PUBLIC_GUILD_MESSAGES: 1 << 30,
} as const;
export const KNOWN_INTENTS = Object.values(INTENTS).reduce((a, b) => a | b, 0) | (1 << 18) | (1 << 19) | (1 << 28) | (1 << 29);

/** Passive replies are valid this long after the message they answer (send.md, post_messages.md). */
export const REPLY_WINDOW_MS = 5 * 60_000;
/** Group: at most this many replies per msg_id. */
export const GROUP_REPLIES_PER_MSG = 5;

/**
 * What the next message send does instead of its normal answer. Without "-after" the server does
 * nothing (`500` answers 503 "service unavailable": a 5xx that says the action did not run);
 * with "-after" the message IS sent (recorded, echoed to the channel) and then the answer is lost.
 */
export type SendFault = "reset" | "500" | "stall" | "reset-after" | "500-after" | "stall-after";
export type PollFault = never;

export interface SimChannel {
  id: string;
  guildId: string;
  name?: string;
  /** The bot is a channel admin: it may recall anyone's messages (else only its own). */
  botAdmin?: boolean;
}

export interface SimMember {
  id: string;
  username: string;
  /** Guild nick (channels). */
  nick?: string;
}

export interface SentMessage {
  /** "channel:<id>" or "group:<openid>". */
  group: string;
  text: string;
  id: string;
  /** The msg_id it replied to (passive), or undefined (proactive). */
  msgId?: string;
  msgSeq?: number;
  body: Record<string, unknown>;
  /** When it was sent (sim clock ms). */
  at?: number;
  recalled?: boolean;
}

export interface Said {
  id: string;
  group: string;
  at: number;
  replies: number;
  seqs: Set<number>;
}

/** One event as the platform emits it, before a transport (gateway or webhook) carries it. */
export interface SimEvent {
  /** The event id (payload `id`), the same on every redelivery. */
  id: string;
  t: string;
  d: Record<string, unknown>;
  /** The intent bit a gateway session needs to receive it. */
  intent: number;
}

/** A transport of events: returns whether it took the event (a live or resumable session, a webhook). */
export type EventCarrier = (ev: SimEvent) => boolean;

export interface QqbotSimStateOptions {
  appId?: string;
  secret?: string;
  /** Token life in seconds (default 7200). */
  tokenLifeS?: number;
  /** Within this many last seconds of a token's life, the endpoint hands out a new one (default 60). */
  renewWindowS?: number;
  heartbeatIntervalMs?: number;
  /** How long a dropped session stays resumable (default 60 000; unsourced). */
  resumeWindowMs?: number;
  /** A private bot may ask GUILD_MESSAGES; a public one only PUBLIC_GUILD_MESSAGES (default true). */
  privateBot?: boolean;
  channels?: SimChannel[];
  groups?: string[];
  /** Proactive channel messages per channel and day (default 20). */
  quotaPerDay?: number;
}

export const DEFAULT_CHANNELS: SimChannel[] = [
  { id: "1001", guildId: "9001", name: "general" },
  { id: "1002", guildId: "9001", name: "random" },
];
export const DEFAULT_GROUPS = ["G0A1B2C3D4E5F60718293A4B5C6D7E8F"];

export class QqbotSimState extends EventEmitter {
  readonly appId: string;
  readonly secret: string;
  readonly bot = { id: "144115218676809931", username: "pollbridge-bot", bot: true };
  readonly tokenLifeS: number;
  readonly renewWindowS: number;
  readonly heartbeatIntervalMs: number;
  readonly resumeWindowMs: number;
  readonly privateBot: boolean;
  readonly channels: SimChannel[];
  readonly groups: string[];
  readonly quotaPerDay: number;
  /** token → expiry (sim clock ms). */
  readonly tokens = new Map<string, number>();
  current: string | undefined;
  readonly said = new Map<string, Said>();
  readonly sent: SentMessage[] = [];
  readonly sendFaults: SendFault[] = [];
  readonly pollFaults: PollFault[] = [];
  readonly violations: string[] = [];
  readonly quota = new Map<string, { day: string; used: number }>();
  readonly counters = { tokenRequests: 0, tokensIssued: 0, refused401: 0, identifies: 0, resumes: 0, heartbeats: 0, sends: 0, missedEvents: 0, webhookPosts: 0 };
  readonly carriers: EventCarrier[] = [];
  /** The intents of every successful Identify, in order. */
  readonly identifiedIntents: number[] = [];
  /** Added to Date.now(): tests move the clock to close reply windows. */
  clockOffset = 0;

  constructor(o: QqbotSimStateOptions = {}) {
    super();
    this.appId = o.appId ?? "102000001";
    this.secret = o.secret ?? randomBytes(12).toString("base64url");
    this.tokenLifeS = o.tokenLifeS ?? 7200;
    this.renewWindowS = o.renewWindowS ?? 60;
    this.heartbeatIntervalMs = o.heartbeatIntervalMs ?? 45_000;
    this.resumeWindowMs = o.resumeWindowMs ?? 60_000;
    this.privateBot = o.privateBot ?? true;
    this.channels = o.channels ?? DEFAULT_CHANNELS;
    this.groups = o.groups ?? DEFAULT_GROUPS;
    this.quotaPerDay = o.quotaPerDay ?? 20;
  }

  now(): number {
    return Date.now() + this.clockOffset;
  }

  advance(ms: number): void {
    this.clockOffset += ms;
    this.emit("clock");
  }

  violation(reason: string): void {
    this.violations.push(reason);
    this.emit("violation", reason);
  }

  /** getAppAccessToken: the same token while it has more than the renew window left, else a new one. */
  issueToken(): { token: string; expiresIn: number } {
    const now = this.now();
    const cur = this.current === undefined ? undefined : this.tokens.get(this.current);
    if (this.current !== undefined && cur !== undefined && cur - now > this.renewWindowS * 1000) {
      return { token: this.current, expiresIn: Math.floor((cur - now) / 1000) };
    }
    const token = randomBytes(24).toString("base64url");
    this.tokens.set(token, now + this.tokenLifeS * 1000);
    this.current = token;
    this.counters.tokensIssued++;
    this.emit("token", token);
    return { token, expiresIn: this.tokenLifeS };
  }

  tokenValid(token: string): boolean {
    const exp = this.tokens.get(token);
    return exp !== undefined && this.now() < exp;
  }

  /** The fault "token expiring mid-run": every token the bot holds stops working now. */
  expireTokens(): void {
    for (const t of this.tokens.keys()) this.tokens.set(t, 0);
    this.emit("expired");
  }

  channel(id: string): SimChannel | undefined {
    return this.channels.find((c) => c.id === id);
  }

  newMessageId(kind: "channel" | "group"): string {
    return kind === "group" ? `ROBOT1.0_${randomUUID().replaceAll("-", "")}` : `08${randomBytes(10).toString("hex")}`;
  }

  /** Hands an event to every transport; an event no transport takes is lost, as on the real platform (counted). */
  publish(t: string, d: Record<string, unknown>, intent: number): SimEvent {
    const ev: SimEvent = { id: `${t}:${randomUUID()}`, t, d, intent };
    let took = false;
    for (const c of this.carriers) took = c(ev) || took;
    if (!took) this.counters.missedEvents++;
    this.emit("published", ev);
    return ev;
  }

  /** Remembers a message said in a channel or group: the reply window it opens. */
  remember(id: string, group: string): Said {
    const s: Said = { id, group, at: this.now(), replies: 0, seqs: new Set() };
    this.said.set(id, s);
    return s;
  }

  /** Proactive quota of a channel: true (and counted) when one is left today (Beijing day). */
  takeQuota(channelId: string): boolean {
    const day = new Date(this.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const q = this.quota.get(channelId);
    const cur = q && q.day === day ? q : { day, used: 0 };
    if (cur.used >= this.quotaPerDay) return false;
    cur.used++;
    this.quota.set(channelId, cur);
    return true;
  }

  /** Messages recalled through the API, in order. */
  readonly recalled: { group: string; id: string }[] = [];

  recordSent(m: SentMessage): void {
    m.at ??= this.now();
    this.sent.push(m);
    this.emit("sent", m);
  }

  sentTo(group?: string): SentMessage[] {
    return this.sent.filter((m) => group === undefined || m.group === group);
  }

  waitForSent(group: string, n = 1, signal?: AbortSignal): Promise<SentMessage[]> {
    return waitFor(this, () => atLeast(this.sentTo(group), n), ["sent"], signal);
  }

  waitFor<T>(check: () => T | undefined, events: string[], signal?: AbortSignal): Promise<T> {
    return waitFor(this, check, events, signal);
  }
}
