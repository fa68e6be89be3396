// The last message seen per group, kept in state_dir: where the next catch-up from history stops.
// Kept by message_id and time (NapCat's message_seq is an unordered hash; Lagrange's history
// takes message_id), written atomically after the sink took the message, coalesced.
import { z } from "zod";
import { readJsonFile, setAside, stateFilePath, UnreadableFileError, writeFileAtomic } from "../shared/state-file.ts";

export interface Mark {
  /** The message_id as the implementation gave it. */
  id: string;
  /** Unix seconds. */
  time: number;
}

const MarksFile = z.object({ groups: z.record(z.string(), z.object({ id: z.string(), time: z.number() })) });

export function marksPath(stateDir: string, id: string): string {
  return stateFilePath(stateDir, "onebot11", id, ".seen.json");
}

export class Marks {
  readonly file: string;
  private marks: Record<string, Mark> = {};
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(file: string) {
    this.file = file;
  }

  /** Loads the file; an unreadable one is set aside (its path returned) and catch-up starts afresh. */
  async load(): Promise<{ setAside?: string }> {
    try {
      const f = await readJsonFile(this.file, MarksFile, "catch-up marks");
      this.marks = f?.groups ?? {};
      return {};
    } catch (err) {
      if (!(err instanceof UnreadableFileError)) throw err;
      return { setAside: await setAside(this.file) };
    }
  }

  get(group: string): Mark | undefined {
    return this.marks[group];
  }

  /** Moves the group's mark to this message (never back to an older time). */
  set(group: string, mark: Mark): Promise<void> {
    const old = this.marks[group];
    if (old && old.time > mark.time) return this.writing;
    this.marks[group] = mark;
    return this.save();
  }

  /** Written one after another; a write under way takes the latest marks with it. */
  private save(): Promise<void> {
    if (this.dirty) return this.writing;
    this.dirty = true;
    this.writing = this.writing.catch(() => undefined).then(() => {
      this.dirty = false;
      return writeFileAtomic(this.file, JSON.stringify({ groups: this.marks }));
    });
    return this.writing;
  }

  /** Resolves once every mark set so far is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }
}
