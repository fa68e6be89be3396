// Events get_updates handed over but the sink has not taken yet. go-cqhttp removes an event from
// its queue once it answered (no ack, no replay), so from then on it is ours to keep: written here
// (atomically, mode 0600) before the sink sees it, removed after, delivered first on the next start.
import { z } from "zod";
import { readJsonFile, removeFile, setAside, stateFilePath, UnreadableFileError, writeFileAtomic } from "../shared/state-file.ts";

const PendingFile = z.array(z.unknown());

export function pendingPath(stateDir: string, id: string): string {
  return stateFilePath(stateDir, "onebot11", id, ".pending.json");
}

export class PendingEvents {
  readonly file: string;
  private events: unknown[] = [];
  /** Writes run one after another; each writes the whole list as it is then. */
  private writing: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  /** The events left by an earlier run. A corrupt file is set aside (never deleted) and reported. */
  async load(): Promise<{ events: unknown[]; setAside?: string }> {
    let parsed: unknown[] | null;
    try {
      parsed = await readJsonFile(this.file, PendingFile, "pending events");
    } catch (err) {
      if (!(err instanceof UnreadableFileError)) throw err;
      return { events: [], setAside: await setAside(this.file) };
    }
    if (parsed === null) return { events: [] };
    this.events = parsed;
    return { events: [...parsed] };
  }

  add(events: unknown[]): Promise<void> {
    if (events.length === 0) return this.writing;
    this.events.push(...events);
    return this.save();
  }

  remove(event: unknown): Promise<void> {
    const i = this.events.indexOf(event);
    if (i < 0) return this.writing;
    this.events.splice(i, 1);
    return this.save();
  }

  private save(): Promise<void> {
    const snapshot = this.events.length === 0 ? null : JSON.stringify(this.events);
    this.writing = this.writing.catch(() => undefined).then(() => (snapshot === null ? removeFile(this.file) : writeFileAtomic(this.file, snapshot)));
    return this.writing;
  }
}
