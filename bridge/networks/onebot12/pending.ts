// Events taken from the server but not yet accepted by the sink. get_latest_events has no offset
// and no acknowledgement: an event handed out is gone from the server's buffer (protocols.md §3,
// §2.5). So the bridge keeps them itself, in the state dir (mode 0600, written atomically), and
// delivers them first on the next start: a stop (or crash) between poll and sink loses nothing.
import { chmod, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";

export function pendingPath(stateDir: string, networkId: string): string {
  return join(stateDir, `onebot12-${networkId.replace(/[^\w.-]/g, "_")}.pending.json`);
}

/** Writes the events not yet delivered (or removes the file when there are none). */
export async function savePending(path: string, events: readonly unknown[]): Promise<void> {
  if (events.length === 0) {
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    return;
  }
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, "w", 0o600); // created 0600: never readable by others, even briefly
  try {
    await fh.writeFile(JSON.stringify({ version: 1, events }));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** The saved events; [] when there are none. An unreadable file is moved aside (kept, not lost) and reported. */
export async function loadPending(path: string): Promise<{ events: unknown[]; setAside?: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { events: [] };
    throw err;
  }
  try {
    const data = JSON.parse(text) as { version?: unknown; events?: unknown };
    if (data?.version === 1 && Array.isArray(data.events)) return { events: data.events };
  } catch {
    // fall through: set aside below
  }
  const aside = `${path}.bad-${Date.now()}`;
  await rename(path, aside);
  return { events: [], setAside: aside };
}
