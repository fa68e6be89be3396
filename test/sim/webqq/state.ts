// The simulated SmartQQ account: QR codes, the web login (cookies), the login2 session, groups,
// queued poll items, sent messages and injected faults. No HTTP here: routes.ts speaks the wire.
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { FACE_NAMES } from "../../../bridge/networks/webqq/faces.ts";
import { FaultDraw } from "../shared/fault-draw.ts";
import { atLeast, waitFor } from "../shared/wait-for.ts";

export type SimElement = string | [string, unknown];

export interface SimMember {
  name: string; // nick
  card?: string;
}

export interface SimGroupConfig {
  name: string;
  members?: SimMember[];
}

/** A fault the next poll2 answers with instead of its normal answer. */
export type PollFault =
  | "116" // rotate ptwebqq: answer {retcode:116, p}; the old value is refused afterwards
  | "121" // the login2 session is gone (relink: login2 again with the cookies)
  | "100000" // the web login expired too: a new QR login is needed
  | "103" // session needs the warm-up again
  | "102" // idle at once
  | "504" // idle gateway timeout at once
  | "500" // HTTP 500
  | "503" // HTTP 503
  | "reset" // socket destroyed without an answer
  | "stall" // never answered (until the client gives up)
  | "malformed" // truncated JSON
  | "html" // an HTML error page with status 200
  | { retcode: number } // any other retcode
  | { result: unknown[] }; // {retcode:0, result} with these items as they are (a buggy or hostile server)

/**
 * A fault the next send_qun_msg2 answers with. The common names (TEAM.md) come in two variants:
 * before the action ran (nothing delivered) and "-after" it ran (DELIVERED, the answer lost).
 */
export type SendFault =
  | "reset" // not delivered, socket destroyed
  | "500" // not delivered, HTTP 500
  | "stall" // not delivered, never answered (until the client gives up)
  | "reset-after" // DELIVERED, then the socket is destroyed
  | "500-after" // DELIVERED, answered HTTP 500
  | "stall-after" // DELIVERED, never answered
  | "reset-before" // the old name of "reset"
  | "frequency" // {retcode:100003}: refused, not delivered
  | "100001" // {retcode:100001}: refused as a bad request, not delivered
  | { retcode: number } // any other retcode: refused, not delivered (100100: delivered, as Mojo counts it)
  | "1202" // delivered, answered {retcode:1202}
  | "malformed"; // delivered, body unreadable

export const SEND_FAULTS: readonly string[] = [
  "reset", "500", "stall", "reset-after", "500-after", "stall-after", "reset-before", "frequency", "100001", "1202", "malformed",
];

/** A fault the next getvfwebqq (the first call of a relink or a login) answers with. */
export type RelinkFault =
  | "html" // an HTML error page with status 200
  | "500" // HTTP 500
  | "reset"; // socket destroyed without an answer

/** A fault the next get_group_name_list_mask2 answers with. */
export type GroupListFault =
  | "html" // an HTML error page with status 200
  | { retcode: number }; // a refusal by retcode

export interface SentMessage {
  group: string;
  /** Text with faces as "/name" (or "[face N]"), the font element dropped. */
  text: string;
  /** The elements as received, font last. */
  content: SimElement[];
  msgId: number;
  time: number;
}

interface QrCode {
  key: string; // what the QR image encodes (a scan URL), not the secret qrsig
  status: "waiting" | "scanned" | "confirmed" | "expired";
  polls: number;
}

export interface WebLogin {
  pskey: string;
  ptwebqq: string;
  vfwebqq: string | null;
  /** The cookies no longer start sessions: getvfwebqq answers 100001, login2 103 (a QR login is needed). */
  relinkRefused: boolean;
}

export interface Login2Session {
  psessionid: string;
  seq: number;
  warm: boolean;
  /** Per-login ids: group name → {gid, code}; member key "group/name" → uin. */
  gids: Map<string, { gid: number; code: number }>;
  memberUins: Map<string, number>;
}

interface QueuedMessage {
  group: string;
  sender: SimMember | null; // null: our own account (echo)
  content: SimElement[];
  msgId: number;
  time: number;
}

const FONT: SimElement = ["font", { color: "000000", name: "微软雅黑", size: 10, style: [0, 0, 0] }];

export interface SimStateOptions {
  qq?: number;
  groups?: SimGroupConfig[];
  autoScan?: boolean | number;
  echoOwn?: boolean;
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

export class SimState extends EventEmitter {
  readonly qq: number;
  readonly groups: Map<string, SimMember[]>;
  autoScan: number | null;
  echoOwn: boolean;

  readonly qrs = new Map<string, QrCode>(); // by qrsig
  currentQrsig: string | null = null;
  readonly sigs = new Set<string>(); // one-time check_sig tokens
  web: WebLogin | null = null;
  session: Login2Session | null = null;
  /** psessionids of earlier logins: answered 121 (relink), not treated as forged. */
  readonly oldSessions = new Set<string>();
  readonly queue: QueuedMessage[] = [];
  readonly pollFaults: PollFault[] = [];
  readonly sendFaults: SendFault[] = [];
  /** Send faults drawn per request when none is queued (POST /_sim/fault-rates). */
  readonly sendDraw = new FaultDraw();
  readonly groupListFaults: GroupListFault[] = [];
  readonly relinkFaults: RelinkFault[] = [];
  readonly sent: SentMessage[] = [];
  /** Every secret the sim handed out (qrsig, ptwebqq, p_skey, vfwebqq, psessionid, ptsigx): logs must hold none. */
  readonly secrets: string[] = [];
  /** Every request the sim refused for breaking the protocol (tests expect none). */
  readonly violations: string[] = [];
  readonly counters = { qrShown: 0, qrPolls: 0, checkSig: 0, login2: 0, polls: 0, groupLists: 0, groupInfos: 0, buddies: 0 };
  private nextMsgId = 50873;
  private loginSeq = 0;

  constructor(opts: SimStateOptions = {}) {
    super();
    this.qq = opts.qq ?? 3000000000;
    this.groups = new Map(
      (opts.groups ?? [{ name: "Dev Group", members: [{ name: "alice", card: "Alice" }, { name: "bob" }] }]).map((g) => [
        g.name,
        [...(g.members ?? [])],
      ]),
    );
    this.autoScan = opts.autoScan === true ? 2 : typeof opts.autoScan === "number" ? opts.autoScan : null;
    this.echoOwn = opts.echoOwn ?? false;
  }

  violation(reason: string): void {
    this.violations.push(reason);
    this.emit("violation", reason);
  }

  // --- QR login -------------------------------------------------------------------------------

  newQr(): { qrsig: string; key: string } {
    // Real qrsig values are 64 characters of base64-ish text with '*' and '-'.
    const qrsig = randomBytes(48).toString("base64").replace(/\+/g, "*").replace(/\//g, "-");
    const key = randomHex(8);
    this.qrs.set(qrsig, { key, status: "waiting", polls: 0 });
    this.secrets.push(qrsig);
    this.currentQrsig = qrsig;
    this.counters.qrShown++;
    return { qrsig, key };
  }

  /** The phone scans and confirms the current QR (the next status poll says 67, then 0). */
  scan(key?: string): boolean {
    for (const qr of this.qrs.values()) {
      if ((key === undefined ? qr === this.currentQr() : qr.key === key) && qr.status === "waiting") {
        qr.status = "scanned";
        return true;
      }
    }
    return false;
  }

  expireQr(): void {
    const qr = this.currentQr();
    if (qr) qr.status = "expired";
  }

  private currentQr(): QrCode | undefined {
    return this.currentQrsig === null ? undefined : this.qrs.get(this.currentQrsig);
  }

  /** One ptqrlogin poll: the ptuiCB code and, on 0, the one-time check_sig token. */
  qrPoll(qrsig: string): { code: 65 | 66 | 67 | 0; sig?: string } {
    this.counters.qrPolls++;
    this.emit("qr-poll");
    const qr = this.qrs.get(qrsig)!;
    qr.polls++;
    if (qr.status === "waiting" && this.autoScan !== null && qr.polls >= this.autoScan) qr.status = "scanned";
    switch (qr.status) {
      case "expired":
        return { code: 65 };
      case "waiting":
        return { code: 66 };
      case "scanned":
        qr.status = "confirmed";
        this.emit("qr-scanned");
        return { code: 67 };
      case "confirmed": {
        this.qrs.delete(qrsig);
        const sig = randomHex(24);
        this.sigs.add(sig);
        this.secrets.push(sig);
        return { code: 0, sig };
      }
    }
  }

  /** check_sig: consumes the token and starts the web login (new cookies, new ptwebqq). */
  checkSig(sig: string): WebLogin | null {
    if (!this.sigs.delete(sig)) return null;
    this.counters.checkSig++;
    this.endSession();
    this.web = { pskey: randomHex(16), ptwebqq: randomHex(32), vfwebqq: null, relinkRefused: false };
    this.secrets.push(this.web.pskey, this.web.ptwebqq);
    return this.web;
  }

  // --- login2 session -------------------------------------------------------------------------

  login2(): Login2Session {
    this.counters.login2++;
    this.endSession();
    const seq = ++this.loginSeq;
    const gids = new Map<string, { gid: number; code: number }>();
    let i = 0;
    for (const name of this.groups.keys()) {
      // gids and codes change at every login; code stays distinct from gid (protocols.md §1.6).
      const gid = 1_000_000_000 + seq * 100_003 + i * 7;
      gids.set(name, { gid, code: gid + 2_000_000_000 });
      i++;
    }
    this.session = { psessionid: randomHex(40), seq, warm: false, gids, memberUins: new Map() };
    this.secrets.push(this.session.psessionid);
    this.emit("login", seq);
    return this.session;
  }

  private endSession(): void {
    if (this.session) this.oldSessions.add(this.session.psessionid);
    this.session = null;
  }

  /** 121: the login2 session is gone, the cookies stay valid. */
  dropSession(): void {
    this.endSession();
    this.emit("session-lost");
  }

  /**
   * The web login's cookies no longer relink (getvfwebqq 100001, login2 103) until a new QR login
   * replaces them; a session still running keeps working until it is lost. Returns false when
   * there is no web login.
   */
  refuseRelink(): boolean {
    if (!this.web) return false;
    this.web.relinkRefused = true;
    return true;
  }

  /** 100000: the web login expired as well. */
  dropWebLogin(): void {
    this.endSession();
    this.web = null;
  }

  rotatePtwebqq(): string {
    const p = randomHex(24);
    if (this.web) this.web.ptwebqq = p;
    this.secrets.push(p);
    return p;
  }

  /** The account joins a group while logged in: it gets a gid in the current session at once. */
  joinGroup(group: SimGroupConfig): void {
    this.groups.set(group.name, [...(group.members ?? [])]);
    const s = this.session;
    if (!s) return;
    const gid = 1_000_000_000 + s.seq * 100_003 + s.gids.size * 7;
    s.gids.set(group.name, { gid, code: gid + 2_000_000_000 });
  }

  memberUin(group: string, name: string): number {
    const s = this.session!;
    const key = `${group}/${name}`;
    let uin = s.memberUins.get(key);
    if (uin === undefined) {
      uin = 3_000_000_000 + s.seq * 10_007 + s.memberUins.size + 1;
      s.memberUins.set(key, uin);
    }
    return uin;
  }

  groupByGid(gid: number): string | undefined {
    for (const [name, ids] of this.session?.gids ?? []) if (ids.gid === gid) return name;
    return undefined;
  }

  groupByCode(code: number): string | undefined {
    for (const [name, ids] of this.session?.gids ?? []) if (ids.code === code) return name;
    return undefined;
  }

  // --- messages -------------------------------------------------------------------------------

  /** A member says something in a group; it waits in the queue for the next poll2. */
  inject(msg: { group: string; sender: SimMember; content: string | SimElement[] }): number {
    const members = this.groups.get(msg.group);
    if (!members) throw new Error(`no group "${msg.group}"`);
    const known = members.find((m) => m.name === msg.sender.name);
    if (!known) members.push({ ...msg.sender });
    else if (msg.sender.card !== undefined) known.card = msg.sender.card;
    const content = typeof msg.content === "string" ? [msg.content] : msg.content;
    const msgId = this.nextMsgId++;
    this.queue.push({ group: msg.group, sender: msg.sender, content, msgId, time: Math.floor(Date.now() / 1000) });
    this.emit("queued");
    return msgId;
  }

  /** Takes every queued message as poll2 items of the current session (removed once answered). */
  takePollItems(): unknown[] {
    const s = this.session!;
    const items = this.queue.splice(0).map((m) => {
      const gid = s.gids.get(m.group)!.gid;
      return {
        poll_type: "group_message",
        value: {
          content: [FONT, ...m.content],
          from_uin: gid,
          group_code: gid,
          msg_id: m.msgId,
          msg_type: 0,
          send_uin: m.sender === null ? this.qq : this.memberUin(m.group, m.sender.name),
          time: m.time,
          to_uin: this.qq,
        },
      };
    });
    return items;
  }

  recordSent(group: string, content: SimElement[], msgId: number): SentMessage {
    const sent: SentMessage = { group, text: elementsToText(content), content, msgId, time: Date.now() };
    this.sent.push(sent);
    if (this.echoOwn) {
      this.queue.push({ group, sender: null, content: content.slice(0, -1), msgId: this.nextMsgId++, time: Math.floor(Date.now() / 1000) });
      this.emit("queued");
    }
    this.emit("sent", sent);
    return sent;
  }

  sentTo(group?: string): SentMessage[] {
    return group === undefined ? [...this.sent] : this.sent.filter((m) => m.group === group);
  }

  /** Resolves once `n` messages were sent to `group` (at once if they already were). */
  waitForSent(group: string, n = 1, signal?: AbortSignal): Promise<SentMessage[]> {
    return this.waitFor(() => atLeast(this.sentTo(group), n), ["sent"], signal);
  }

  /** Resolves with the login sequence number once login2 ran `n` times in all. */
  waitForLogins(n: number, signal?: AbortSignal): Promise<number> {
    return this.waitFor(() => (this.counters.login2 >= n ? this.counters.login2 : undefined), ["login"], signal);
  }

  /** Resolves once the queue is empty (every injected message was answered to a poll). */
  waitForDelivered(signal?: AbortSignal): Promise<void> {
    return this.waitFor(() => (this.queue.length === 0 ? true : undefined), ["delivered"], signal).then(() => undefined);
  }

  /** Resolves when `check` returns a value, re-checked on the given events. */
  waitFor<T>(check: () => T | undefined, events: string[], signal?: AbortSignal): Promise<T> {
    return waitFor(this, check, events, signal);
  }
}

/** The sim's own reading of sent elements (font dropped; faces "/name" or "[face N]"). */
export function elementsToText(content: SimElement[]): string {
  return content
    .map((el) => {
      if (typeof el === "string") return el;
      if (el[0] === "face") {
        const name = FACE_NAMES.get(el[1] as number);
        return name === undefined ? `[face ${String(el[1])}]` : `/${name}`;
      }
      return el[0] === "font" ? "" : `[${el[0]}]`;
    })
    .join("");
}
