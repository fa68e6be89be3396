// Catch-up from history (protocols.md §2.6, §2.7.3): no implementation keeps events for a client
// that is away, so after a start, a reconnect or a reopened stream each bridged group's history is
// read back to the last message seen (its mark, kept in state_dir) and what was missed is handed
// over once, oldest first. A gap that cannot be read now is owed: the group's mark waits before
// it while live events go on, and it is read again with backoff.
import type { Logger } from "pino";
import { backoffDelay, redactError } from "../../../src/index.ts";
import type { InboundMessage } from "../../network.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import type { Actions } from "./actions.ts";
import { HistoryUnavailableError, readBack, type HistoryEvent } from "./history.ts";
import { Inbound } from "./inbound.ts";
import type { Marks } from "./marks.ts";
import type { Profile } from "./profile.ts";

/**
 * A catch-up (and a history lookup of a send) reads at most this many pages of 20 per group: a
 * busy group says hundreds of messages while the bridge restarts.
 */
export const CATCH_UP_PAGES = 50;

export interface CatchUpOptions {
  groups: ReadonlySet<string>;
  marks: Marks;
  actions: () => Actions | null;
  inbound: () => Inbound | null;
  profile: () => Profile;
  log: Logger;
  warn: RepeatedWarning;
  signal: AbortSignal;
  backoff: { min: number; max: number };
  secrets: string[];
}

export class CatchUp {
  private readonly o: CatchUpOptions;
  /** false once the implementation said it has no history action. */
  available = true;
  /** Groups whose gap could not be read yet. */
  private readonly owed = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private attempts = 0;
  /** Catch-ups run one after another (a reconnect during one waits for it). */
  private chain: Promise<void> = Promise.resolve();

  constructor(o: CatchUpOptions) {
    this.o = o;
  }

  /** Runs `work` after every catch-up queued before it. */
  queue(work: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(work, work);
    return this.chain;
  }

  /** Resolves once every queued catch-up ended. */
  idle(): Promise<void> {
    return this.chain;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** The sink took a message: its group's mark moves on, unless a gap before it is owed. */
  delivered(msg: InboundMessage, ev: Record<string, unknown>): void {
    if (ev.message_id === undefined || this.owed.has(msg.group)) return;
    void this.o.marks.set(msg.group, { id: String(ev.message_id), time: Math.floor(msg.time.getTime() / 1000) }).catch((err: unknown) => this.o.warn.warn("marks", { err: (err as Error).message }, "onebot11: cannot save the catch-up mark"));
  }

  /** The history action turned out missing (findSent saw it). */
  unavailable(): void {
    this.available = false;
    this.owed.clear();
  }

  /**
   * Reads each group's history back to its mark and hands what was missed to the sink. A group
   * without a mark (the first run) only gets one: nothing said before the bridge's time is relayed.
   */
  async run(): Promise<void> {
    const { marks, log, warn, signal } = this.o;
    const actions = this.o.actions();
    const inbound = this.o.inbound();
    if (!this.available || !actions || !inbound) return;
    const profile = this.o.profile();
    for (const group of this.o.groups) {
      if (signal.aborted) return;
      const groupId = Number(group);
      if (!Number.isSafeInteger(groupId)) continue;
      const mark = marks.get(group);
      try {
        if (mark === undefined) {
          const { messages: latest } = await readBack(actions, profile, groupId, () => false, { maxPages: 1, signal });
          const last = latest.at(-1);
          if (marks.get(group) !== undefined) continue; // a message came live meanwhile
          // An empty group: anything its history holds later was said after we started (time 0:
          // the implementation's clock, not ours, dates its messages).
          await marks.set(group, last?.message_id === undefined ? { id: "", time: 0 } : { id: String(last.message_id), time: typeof last.time === "number" ? last.time : 0 });
          continue;
        }
        const stop = (m: HistoryEvent): boolean => String(m.message_id) === mark.id || (typeof m.time === "number" && m.time < mark.time);
        const got = await readBack(actions, profile, groupId, stop, { maxPages: CATCH_UP_PAGES, signal });
        if (!got.complete) log.warn({ group, read: got.messages.length }, "onebot11: catch-up did not reach the last message seen; the gap may be larger than what history gave");
        const missed = got.messages.filter((m) => !inbound.seen(Inbound.key(group, m.message_id)));
        if (missed.length > 0) log.info({ group, count: missed.length }, "onebot11: catching up from history");
        for (const m of missed) await inbound.handle({ ...m, group_id: m.group_id ?? groupId, message_type: m.message_type ?? "group" }, { live: false });
        if (this.owed.delete(group)) {
          // Live messages did not move the mark while the gap was open: it moves past the gap now.
          const newest = got.messages.at(-1);
          if (newest?.message_id !== undefined && typeof newest.time === "number") await marks.set(group, { id: String(newest.message_id), time: newest.time });
          log.info({ group }, "onebot11: the gap is caught up");
        }
      } catch (err) {
        if (err instanceof HistoryUnavailableError) {
          this.unavailable();
          log.warn("onebot11: get_group_msg_history is not available here: running without catch-up (what is said while the bridge is not connected is not relayed) and without history evidence");
          return;
        }
        if (signal.aborted) return;
        this.owed.add(group);
        warn.warn("catch-up", { group, err: redactError(err, this.o.secrets).message }, "onebot11: catch-up from history failed; live events go on, the gap is read again later");
      }
    }
    if (this.owed.size > 0) this.retry();
    else this.attempts = 0;
  }

  private retry(): void {
    if (this.timer !== null || this.o.signal.aborted) return;
    const wait = backoffDelay(++this.attempts, this.o.backoff) || 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.queue(() => this.run());
    }, wait);
    this.timer.unref();
  }
}
