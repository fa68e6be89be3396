// Events get_updates handed over but the sink has not taken yet. go-cqhttp removes an event from
// its queue once it answered (no ack, no replay), so from then on it is ours to keep: written here
// (atomically, mode 0600) before the sink sees it, removed after, delivered first on the next start.
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export function pendingPath(stateDir: string, id: string): string {
  return join(stateDir, `onebot11-${id.replace(/[^\w.-]/g, "_")}.pending.json`);
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
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { events: [] };
      throw err;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed)) throw new Error("not a list");
      this.events = parsed;
      return { events: [...parsed] };
    } catch {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      await rename(this.file, aside);
      return { events: [], setAside: aside };
    }
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
    this.writing = this.writing.catch(() => undefined).then(() => write(this.file, snapshot));
    return this.writing;
  }
}

async function write(file: string, text: string | null): Promise<void> {
  if (text === null) {
    await rm(file, { force: true });
    return;
  }
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}
