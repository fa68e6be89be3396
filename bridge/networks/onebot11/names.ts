// Display names of group members: the event's sender.card before sender.nickname; when an event
// carries neither (or for @mentions), get_group_member_info, cached.
import type { Logger } from "pino";
import type { Actions } from "./actions.ts";

const MAX_CACHED = 2_000;
const LOOKUP_TIMEOUT = 5_000;

/** card, else nickname, else undefined. */
export function displayName(m: { card?: unknown; nickname?: unknown } | null | undefined): string | undefined {
  for (const v of [m?.card, m?.nickname]) if (typeof v === "string" && v.trim() !== "") return v;
  return undefined;
}

export class MemberNames {
  private readonly cache = new Map<string, string>();
  private readonly actions: Actions;
  private readonly log: Logger;

  constructor(actions: Actions, log: Logger) {
    this.actions = actions;
    this.log = log;
  }

  remember(group: number, user: number, name: string): void {
    const key = `${group}:${user}`;
    this.cache.delete(key);
    this.cache.set(key, name);
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The name remembered for the member, without asking the server. */
  cached(group: number, user: number): string | undefined {
    return this.cache.get(`${group}:${user}`);
  }

  /** The member's name, or undefined when the server cannot say (never throws: a name is not worth a lost message). */
  async lookup(group: number, user: number, signal: AbortSignal): Promise<string | undefined> {
    const cached = this.cache.get(`${group}:${user}`);
    if (cached !== undefined) return cached;
    try {
      const data = await this.actions.call("get_group_member_info", { group_id: group, user_id: user }, { timeoutMs: LOOKUP_TIMEOUT, signal });
      const name = displayName(data as { card?: unknown; nickname?: unknown });
      if (name !== undefined) this.remember(group, user, name);
      return name;
    } catch (err) {
      if (signal.aborted) throw err;
      this.log.debug({ group, user, err: (err as Error).message }, "onebot11: member name lookup failed");
      return undefined;
    }
  }
}
