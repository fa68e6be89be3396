// The getUpdates offset, saved in the state dir (mode 0600, written atomically) so that a restart
// neither loses nor replays updates: it names the first update not yet durable in the relay.
import { chmod, mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";

const OffsetFile = z.object({
  version: z.literal(1),
  /** The bot the offset belongs to: another token's bot has its own update ids. */
  botId: z.string(),
  offset: z.number().int().positive(),
});

export type SavedOffset = z.infer<typeof OffsetFile>;

export function offsetPath(stateDir: string, networkId: string): string {
  return join(stateDir, `telegram-${networkId.replace(/[^\w.-]/g, "_")}.offset.json`);
}

export async function saveOffset(path: string, botId: string, offset: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  // Created 0600 from the start; fsync before the rename so a crash leaves the old or the new file.
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(JSON.stringify({ version: 1, botId, offset } satisfies SavedOffset));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** null when there is no file; throws a clear error when it is unreadable. */
export async function loadOffset(path: string): Promise<SavedOffset | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    return OffsetFile.parse(JSON.parse(text));
  } catch (err) {
    throw new Error(`offset file ${path} is unreadable (${err instanceof z.ZodError ? "bad shape" : "bad JSON"})`, { cause: err });
  }
}

/** Moves an unreadable file aside (kept for inspection). */
export async function setAsideOffset(path: string): Promise<string> {
  const aside = `${path}.bad-${Date.now()}`;
  await rename(path, aside);
  return aside;
}
