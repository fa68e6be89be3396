// What the platform lets the bot send, per group (protocols.md §6.4): a passive reply needs the
// msg_id of a message said less than 5 minutes ago (groups: at most 5 replies to one msg_id, each
// with its own msg_seq); a guild channel also takes proactive messages, about 20 a day. Counted
// here so that the bridge asks only what the server will accept, and waits otherwise.

/** The platform's window is 5 min; we stop using one 30 s early, so a request in flight does not miss it. */
export const REPLY_WINDOW_MS = 5 * 60_000 - 30_000;
export const GROUP_REPLIES_PER_MSG = 5;
export const CHANNEL_QUOTA_PER_DAY = 20;
/** Windows kept per group (the oldest open one is used first: it closes first). */
const MAX_WINDOWS = 50;

export type SendPlan =
  | { kind: "passive"; msgId: string; msgSeq: number }
  | { kind: "proactive" }
  /** Nothing may be sent now; `untilMs` when the next chance is known (quota reset), else an inbound message opens one. */
  | { kind: "wait"; untilMs: number | undefined };

interface Window {
  msgId: string;
  at: number;
  replies: number;
  nextSeq: number;
}

/** The Beijing date of `ms` (the day the quota counts in) and the ms when the next day begins. */
function beijingDay(ms: number): { day: string; endsAt: number } {
  const shifted = ms + 8 * 3600_000;
  const day = new Date(shifted).toISOString().slice(0, 10);
  return { day, endsAt: Date.parse(`${day}T00:00:00Z`) + 86_400_000 - 8 * 3600_000 };
}

export class ReplyWindows {
  readonly #now: () => number;
  readonly #windows = new Map<string, Window[]>();
  readonly #quota = new Map<string, { day: string; used: number }>();
  readonly #quotaPerDay: number;

  constructor(o: { now?: () => number; quotaPerDay?: number } = {}) {
    this.#now = o.now ?? Date.now;
    this.#quotaPerDay = o.quotaPerDay ?? CHANNEL_QUOTA_PER_DAY;
  }

  /** A message someone said in `group`: a window to reply in. */
  opened(group: string, msgId: string): void {
    const list = this.#open(group);
    if (list.some((w) => w.msgId === msgId)) return; // redelivered
    list.push({ msgId, at: this.#now(), replies: 0, nextSeq: 1 });
    if (list.length > MAX_WINDOWS) list.shift();
    this.#windows.set(group, list);
  }

  /** What a send to `group` may do now. */
  plan(group: string): SendPlan {
    const w = this.#usable(group);
    if (w) return { kind: "passive", msgId: w.msgId, msgSeq: w.nextSeq++ };
    if (group.startsWith("channel:")) {
      if (this.quotaLeft(group) > 0) return { kind: "proactive" };
      return { kind: "wait", untilMs: beijingDay(this.#now()).endsAt };
    }
    return { kind: "wait", untilMs: undefined };
  }

  /** Whether plan() would send now. */
  ready(group: string): boolean {
    return this.#usable(group) !== undefined || (group.startsWith("channel:") && this.quotaLeft(group) > 0);
  }

  /** What a restart needs: the open windows and today's quota counts. */
  snapshot(): { windows: Record<string, Window[]>; quota: Record<string, { day: string; used: number }> } {
    const windows: Record<string, Window[]> = {};
    for (const g of this.#windows.keys()) {
      const open = this.#open(g);
      if (open.length) windows[g] = open.map((w) => ({ ...w }));
    }
    return { windows, quota: Object.fromEntries([...this.#quota].map(([g, q]) => [g, { ...q }])) };
  }

  restore(s: { windows: Record<string, Window[]>; quota: Record<string, { day: string; used: number }> }): void {
    for (const [g, list] of Object.entries(s.windows)) this.#windows.set(g, list.map((w) => ({ ...w })));
    for (const [g, q] of Object.entries(s.quota)) this.#quota.set(g, { ...q });
  }

  /** Whether the window of `msgId` is still open (whatever its reply count). */
  isOpen(group: string, msgId: string): boolean {
    return this.#open(group).some((w) => w.msgId === msgId);
  }

  /** A send under `plan` may have reached the server (delivered or unknown): it counts. */
  spent(group: string, plan: SendPlan): void {
    if (plan.kind === "passive") {
      const w = this.#windows.get(group)?.find((x) => x.msgId === plan.msgId);
      if (w) w.replies++;
    } else if (plan.kind === "proactive") {
      const { day } = beijingDay(this.#now());
      const q = this.#quota.get(group);
      this.#quota.set(group, q && q.day === day ? { day, used: q.used + 1 } : { day, used: 1 });
    }
  }

  /** The server refused this msg_id (expired, invalid, replies used up): never offer it again. */
  closeWindow(group: string, msgId: string): void {
    const list = this.#windows.get(group);
    if (list) this.#windows.set(group, list.filter((w) => w.msgId !== msgId));
  }

  /** The server said the proactive quota of `group` is used up for today. */
  quotaExhausted(group: string): void {
    this.#quota.set(group, { day: beijingDay(this.#now()).day, used: this.#quotaPerDay });
  }

  /** Proactive messages left today (channels). */
  quotaLeft(group: string): number {
    const q = this.#quota.get(group);
    return q && q.day === beijingDay(this.#now()).day ? Math.max(0, this.#quotaPerDay - q.used) : this.#quotaPerDay;
  }

  /** The open windows of `group` (for status). */
  openWindows(group: string): number {
    return this.#open(group).filter((w) => this.#limitOk(group, w)).length;
  }

  #open(group: string): Window[] {
    const now = this.#now();
    const list = (this.#windows.get(group) ?? []).filter((w) => now - w.at < REPLY_WINDOW_MS);
    this.#windows.set(group, list);
    return list;
  }

  #limitOk(group: string, w: Window): boolean {
    return !group.startsWith("group:") || w.replies < GROUP_REPLIES_PER_MSG;
  }

  #usable(group: string): Window | undefined {
    return this.#open(group).find((w) => this.#limitOk(group, w));
  }
}
