// Display names of group members: the event's sender.card before sender.nickname; when an event
// carries neither (or for @mentions), get_group_member_info, cached.
import type { Logger } from "pino";
import type { HTTPStream } from "../../../src/index.ts";
import { actionRequest, readAction, type ApiTarget } from "./api.ts";

const MAX_CACHED = 2_000;
const LOOKUP_TIMEOUT = 5_000;

/** card, else nickname, else undefined. */
export function displayName(m: { card?: unknown; nickname?: unknown } | null | undefined): string | undefined {
  for (const v of [m?.card, m?.nickname]) if (typeof v === "string" && v.trim() !== "") return v;
  return undefined;
}

export class MemberNames {
  private readonly cache = new Map<string, string>();
  private readonly stream: HTTPStream;
  private readonly target: ApiTarget;
  private readonly log: Logger;

  constructor(stream: HTTPStream, target: ApiTarget, log: Logger) {
    this.stream = stream;
    this.target = target;
    this.log = log;
  }

  remember(group: number, user: number, name: string): void {
    const key = `${group}:${user}`;
    this.cache.delete(key);
    this.cache.set(key, name);
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The member's name, or undefined when the server cannot say (never throws: a name is not worth a lost message). */
  async lookup(group: number, user: number, signal: AbortSignal): Promise<string | undefined> {
    const cached = this.cache.get(`${group}:${user}`);
    if (cached !== undefined) return cached;
    try {
      const res = await this.stream.request(
        actionRequest(this.target, "get_group_member_info", { group_id: group, user_id: user }, { retry: false, timeout: LOOKUP_TIMEOUT, retrySafe: true }),
        { signal },
      );
      const name = displayName((await readAction(res, "get_group_member_info")) as { card?: unknown; nickname?: unknown });
      if (name !== undefined) this.remember(group, user, name);
      return name;
    } catch (err) {
      if (signal.aborted) throw err;
      this.log.debug({ group, user, err: (err as Error).message }, "onebot11: member name lookup failed");
      return undefined;
    }
  }
}
