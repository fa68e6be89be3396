// The getUpdates offset, saved in the state dir (mode 0600, written atomically) so that a restart
// neither loses nor replays updates: it names the first update not yet durable in the relay.
import { z } from "zod";
import { readJsonFile, stateFilePath, writeFileAtomic } from "../shared/state-file.ts";

const OffsetFile = z.object({
  version: z.literal(1),
  /** The bot the offset belongs to: another token's bot has its own update ids. */
  botId: z.string(),
  offset: z.number().int().positive(),
});

export type SavedOffset = z.infer<typeof OffsetFile>;

export function offsetPath(stateDir: string, networkId: string): string {
  return stateFilePath(stateDir, "telegram", networkId, ".offset.json");
}

export async function saveOffset(path: string, botId: string, offset: number): Promise<void> {
  await writeFileAtomic(path, JSON.stringify({ version: 1, botId, offset } satisfies SavedOffset));
}

/** null when there is no file; throws a clear error when it is unreadable. */
export async function loadOffset(path: string): Promise<SavedOffset | null> {
  return await readJsonFile(path, OffsetFile, "offset");
}
