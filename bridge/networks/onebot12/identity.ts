// Which bot we are (protocols.md §3): get_status (a meta action: no `self` needed) lists the bots
// of the connection; with several, every other action must name ours in `self` (else 10101).
// Our own messages are recognised by this identity, never by text.
import type { BotSelf } from "./action.ts";

export class BotOfflineError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = "BotOfflineError";
  }
}

export interface Identity {
  self: BotSelf;
  /** Bots sharing the connection (1 in the usual setup). */
  bots: number;
}

function botSelf(v: unknown): BotSelf | undefined {
  const s = v as { platform?: unknown; user_id?: unknown } | null | undefined;
  if (typeof s?.platform !== "string" || (typeof s.user_id !== "string" && typeof s.user_id !== "number")) return undefined;
  return { platform: s.platform, user_id: String(s.user_id) };
}

/**
 * Our bot from get_status data: the first online one. `selfInfo` is asked only when get_status
 * lists no bots (an implementation that leaves the list out): get_self_info then names the one bot.
 */
export async function identify(status: unknown, selfInfo: () => Promise<unknown>): Promise<Identity> {
  const list = (status as { bots?: unknown } | null)?.bots;
  const bots = (Array.isArray(list) ? list : []).flatMap((b: { self?: unknown; online?: unknown }) => {
    const self = botSelf(b?.self);
    return self ? [{ self, online: b.online !== false }] : [];
  });
  if (bots.length === 0) {
    const info = (await selfInfo()) as { user_id?: unknown; platform?: unknown } | null;
    if (typeof info?.user_id !== "string" && typeof info?.user_id !== "number") throw new Error("get_status lists no bot and get_self_info gives no user_id");
    return { self: { platform: typeof info.platform === "string" ? info.platform : "", user_id: String(info.user_id) }, bots: 1 };
  }
  const ours = bots.find((b) => b.online);
  if (!ours) throw new BotOfflineError(`the bot ${bots[0]!.self.platform}/${bots[0]!.self.user_id} is not online (get_status)`);
  return { self: ours.self, bots: bots.length };
}
