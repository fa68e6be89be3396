// Events taken from the server but not yet accepted by the sink. get_latest_events has no offset
// and no acknowledgement: an event handed out is gone from the server's buffer (protocols.md §3,
// §2.5). So the bridge keeps them itself, in the state dir (mode 0600, written atomically), and
// delivers them first on the next start: a stop (or crash) between poll and sink loses nothing.
import { z } from "zod";
import { readJsonFile, removeFile, setAside, stateFilePath, UnreadableFileError, writeFileAtomic } from "../shared/state-file.ts";

const PendingFile = z.object({ version: z.literal(1), events: z.array(z.unknown()) });

export function pendingPath(stateDir: string, networkId: string): string {
  return stateFilePath(stateDir, "onebot12", networkId, ".pending.json");
}

/** Writes the events not yet delivered (or removes the file when there are none). */
export async function savePending(path: string, events: readonly unknown[]): Promise<void> {
  if (events.length === 0) return await removeFile(path);
  await writeFileAtomic(path, JSON.stringify({ version: 1, events }));
}

/** The saved events; [] when there are none. An unreadable file is moved aside (kept, not lost) and reported. */
export async function loadPending(path: string): Promise<{ events: unknown[]; setAside?: string }> {
  try {
    return { events: (await readJsonFile(path, PendingFile, "pending events"))?.events ?? [] };
  } catch (err) {
    if (!(err instanceof UnreadableFileError)) throw err;
    return { events: [], setAside: await setAside(path) };
  }
}
