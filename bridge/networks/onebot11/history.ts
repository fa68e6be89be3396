// get_group_msg_history (protocols.md §2.7.3): the gap filler and the send finder. Pages go
// backwards from the latest; the anchor of the next page depends on the implementation (a real
// sequence minus one on go-cqhttp and LLBot, NapCat's message_seq as is, Lagrange's message_id),
// never on arithmetic where the numbers are ids. Messages are deduped and ordered by message_id
// and the order of the answers, not by seq values.
import { z } from "zod";
import { ActionError } from "./api.ts";
import type { Actions } from "./actions.ts";
import type { Profile } from "./profile.ts";

export type HistoryEvent = Record<string, unknown>;

const HistoryAnswer = z.looseObject({ messages: z.array(z.unknown()) });

/** One page of the answer is this many messages. */
export const PAGE = 20;

export class HistoryUnavailableError extends Error {
  constructor(cause: unknown) {
    super("get_group_msg_history is not available on this implementation", { cause });
    this.name = "HistoryUnavailableError";
  }
}

/** Whether an action failure says the action does not exist here (404/1404; NapCat's "不支持的Api"). */
export function isMissingAction(err: unknown): boolean {
  if (!(err instanceof ActionError)) return false;
  if (err.kind === "http") return err.httpStatus === 404;
  if (err.kind === "failed") return err.retcode === 404 || err.retcode === 1404 || /API_NOT_FOUND|不支持的Api/.test(err.serverMessage);
  return false;
}

function idOf(m: HistoryEvent): string | undefined {
  const v = m.message_id;
  return typeof v === "number" || (typeof v === "string" && v !== "") ? String(v) : undefined;
}

function anchorOf(profile: Profile, oldest: HistoryEvent): Record<string, unknown> | undefined {
  if (profile.historyAnchor === "id") return oldest.message_id === undefined ? undefined : { message_id: oldest.message_id };
  const seq = oldest.message_seq ?? oldest.message_id;
  if (profile.historyAnchor === "seq-1") {
    const n = typeof seq === "number" ? seq : typeof seq === "string" && /^\d+$/.test(seq) ? Number(seq) : NaN;
    return Number.isSafeInteger(n) && n > 1 ? { message_seq: n - 1 } : undefined;
  }
  return seq === undefined || seq === null ? undefined : { message_seq: seq };
}

export interface ReadBack {
  /** Oldest first; every message newer than the stop point, or all read when it was not reached. */
  messages: HistoryEvent[];
  /** Whether the stop point was reached (else the gap may be larger than what was read). */
  complete: boolean;
}

/**
 * Reads a group's history backwards from the latest message until `stop` says a message is at
 * or before the point wanted (that message and older are left out), or `maxPages` were read.
 * Throws HistoryUnavailableError when the action does not exist, other errors as they are.
 */
export async function readBack(actions: Actions, profile: Profile, groupId: number, stop: (m: HistoryEvent) => boolean, o: { maxPages: number; signal?: AbortSignal; timeoutMs?: number }): Promise<ReadBack> {
  const collected: HistoryEvent[] = []; // oldest first
  const ids = new Set<string>();
  let anchor: Record<string, unknown> = profile.historyAnchor === "id" ? { message_id: 0 } : { message_seq: 0 };
  for (let page = 0; page < o.maxPages; page++) {
    let data: unknown;
    try {
      data = await actions.call("get_group_msg_history", { group_id: groupId, ...anchor, count: PAGE }, { retrySafe: true, signal: o.signal, timeoutMs: o.timeoutMs ?? 15_000 });
    } catch (err) {
      if (isMissingAction(err)) throw new HistoryUnavailableError(err);
      // NapCat answers an empty group as an error ("消息不存在"): nothing there.
      if (page === 0 && err instanceof ActionError && err.kind === "failed" && /不存在|not exist/i.test(err.serverMessage)) return { messages: [], complete: false };
      // NapCat answers an anchor it cannot find (or an empty group) as an error: nothing older.
      if (page > 0 && err instanceof ActionError && err.kind === "failed") return { messages: collected, complete: false };
      throw err;
    }
    const parsed = HistoryAnswer.safeParse(data);
    if (!parsed.success) throw new ActionError("get_group_msg_history", "malformed", 200, { serverMessage: "no messages list" });
    const fresh = parsed.data.messages.filter((m): m is HistoryEvent => typeof m === "object" && m !== null && !Array.isArray(m)).filter((m) => {
      const id = idOf(m);
      if (id === undefined || ids.has(id)) return false;
      ids.add(id);
      return true;
    });
    // Each answer is oldest first; scan newest to oldest for the stop point.
    for (let i = fresh.length - 1; i >= 0; i--) {
      if (stop(fresh[i]!)) return { messages: [...fresh.slice(i + 1), ...collected], complete: true };
    }
    collected.unshift(...fresh);
    if (fresh.length === 0) return { messages: collected, complete: false };
    const next = anchorOf(profile, fresh[0]!);
    if (next === undefined) return { messages: collected, complete: false };
    anchor = next;
  }
  return { messages: collected, complete: false };
}
