// Which bot we are (protocols.md §3): get_status (a meta action: no `self` needed) lists the bots
// of the connection; with several, every other action must name ours in `self` (else 10101).
// Our own messages are recognised by this identity, never by text.
import { z } from "zod";
import type { BotSelf } from "./action.ts";
import { IdSchema, SelfSchema } from "./schema.ts";

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

const BotList = z.looseObject({
  bots: z
    .array(z.unknown())
    .catch([])
    .transform((list) => list.flatMap((b) => {
      const r = z.looseObject({ self: SelfSchema, online: z.boolean().optional().catch(undefined) }).safeParse(b);
      return r.success ? [{ self: { platform: r.data.self.platform, user_id: r.data.self.user_id }, online: r.data.online !== false }] : [];
    }))
    .optional(),
});
const SelfInfo = z.looseObject({ user_id: IdSchema, platform: z.string().optional().catch(undefined) });

/**
 * Our bot from get_status data: the first online one. `selfInfo` is asked only when get_status
 * lists no bots (an implementation that leaves the list out): get_self_info then names the one bot.
 */
export async function identify(status: unknown, selfInfo: () => Promise<unknown>): Promise<Identity> {
  const parsed = BotList.safeParse(status);
  const bots = parsed.success ? (parsed.data.bots ?? []) : [];
  if (bots.length === 0) {
    const info = SelfInfo.safeParse(await selfInfo());
    if (!info.success) throw new Error("get_status lists no bot and get_self_info gives no user_id");
    return { self: { platform: info.data.platform ?? "", user_id: info.data.user_id }, bots: 1 };
  }
  const ours = bots.find((b) => b.online);
  if (!ours) throw new BotOfflineError(`the bot ${bots[0]!.self.platform}/${bots[0]!.self.user_id} is not online (get_status)`);
  return { self: ours.self, bots: bots.length };
}
