// The reply windows, the proactive quota counts and the group sends in flight, kept in the state
// dir so that a restart (even a kill -9) neither forgets a window an @-mention opened, nor
// re-spends a quota, nor sends twice: a group send is written here before its request leaves, and
// its resend after the restart reuses the same msg_id + msg_seq (40054005 then proves it arrived).
import type { Logger } from "pino";
import { z } from "zod";
import { readJsonFile, setAside, stateFilePath, writeFileAtomic } from "../shared/state-file.ts";

const windowSchema = z.object({ msgId: z.string(), at: z.number(), replies: z.number().int().nonnegative(), nextSeq: z.number().int().positive() });
const snapshotSchema = z.object({
  version: z.literal(1),
  windows: z.record(z.string(), z.array(windowSchema)),
  quota: z.record(z.string(), z.object({ day: z.string(), used: z.number().int().nonnegative() })),
  inflight: z.record(z.string(), z.object({ text: z.string(), msgId: z.string(), msgSeq: z.number().int().positive() })),
});

export type WindowsSnapshot = z.infer<typeof snapshotSchema>;
export type SavedWindow = z.infer<typeof windowSchema>;

export function windowsPath(stateDir: string, networkId: string): string {
  return stateFilePath(stateDir, "qqbot", networkId, ".windows.json");
}

/** The saved snapshot, or null (none yet, or unreadable: set aside and logged). */
export async function loadWindows(path: string, log: Logger): Promise<WindowsSnapshot | null> {
  try {
    return await readJsonFile(path, snapshotSchema, "qqbot reply windows");
  } catch (err) {
    const aside = await setAside(path).catch(() => path);
    log.error({ err: (err as Error).message, keptAs: aside }, "qqbot: saved reply windows unusable; starting without them");
    return null;
  }
}

/** Writes snapshots one at a time: flush() now (awaited), schedule() soon (coalesced). */
export class SnapshotWriter {
  readonly #path: string;
  readonly #take: () => WindowsSnapshot;
  readonly #log: Logger;
  #chain: Promise<void> = Promise.resolve();
  #scheduled = false;

  constructor(path: string, take: () => WindowsSnapshot, log: Logger) {
    this.#path = path;
    this.#take = take;
    this.#log = log;
  }

  flush(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#write());
    return this.#chain;
  }

  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#chain = this.#chain.then(() => {
      this.#scheduled = false;
      return this.#write();
    });
  }

  async #write(): Promise<void> {
    try {
      await writeFileAtomic(this.#path, `${JSON.stringify(this.#take())}\n`);
    } catch (err) {
      // Sends go on; only what a restart would remember is at stake.
      this.#log.error({ err: (err as Error).message, file: this.#path }, "qqbot: could not save the reply windows");
    }
  }
}
