// Display names of group members (get_group_member_info: user_displayname before user_name),
// cached; a sender not in the cache (or a stale entry) is looked up again.

export interface MemberInfo {
  user_id?: unknown;
  user_name?: unknown;
  user_displayname?: unknown;
}

/** The name to show: the group card (user_displayname) when set, else the account name. */
export function displayName(info: MemberInfo | null | undefined): string | undefined {
  const card = info?.user_displayname;
  if (typeof card === "string" && card.trim() !== "") return card;
  const name = info?.user_name;
  if (typeof name === "string" && name.trim() !== "") return name;
  return undefined;
}

/** How long a looked-up name is trusted (names change; a stale one is refetched on the next message). */
export const NAME_TTL_MS = 10 * 60_000;
/** Members remembered at most: busy groups must not grow the cache for as long as the bridge runs. */
export const MAX_CACHED_NAMES = 2_000;

export class MemberNames {
  private readonly cache = new Map<string, { name: string; at: number }>();
  private readonly fetch: (groupId: string, userId: string) => Promise<MemberInfo | null>;

  constructor(fetch: (groupId: string, userId: string) => Promise<MemberInfo | null>) {
    this.fetch = fetch;
  }

  /** The member's display name, or undefined when the server does not say (the caller shows the id). */
  async get(groupId: string, userId: string, now = Date.now()): Promise<string | undefined> {
    const key = `${groupId}\u0000${userId}`;
    const hit = this.cache.get(key);
    if (hit && now - hit.at < NAME_TTL_MS) {
      this.cache.delete(key); // re-inserted: the Map's order is least recently used first
      this.cache.set(key, hit);
      return hit.name;
    }
    const name = displayName(await this.fetch(groupId, userId));
    if (name === undefined) return hit?.name; // a failed refresh keeps the old name
    this.cache.delete(key);
    this.cache.set(key, { name, at: now });
    if (this.cache.size > MAX_CACHED_NAMES) this.cache.delete(this.cache.keys().next().value!);
    return name;
  }

  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
  }
}
