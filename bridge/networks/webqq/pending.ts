// The messages of the poll2 answer being delivered, kept in the state dir until the sink took
// them all: poll2 removed them from the server, so a crash while the outbox is failing must not
// lose them. Replayed at the next start (the outbox dedupes by id what it already had).
import { z } from "zod";
import type { InboundMessage } from "../../network.ts";
import { readJsonFile, removeFile, setAside, stateFilePath, UnreadableFileError, writeFileAtomic } from "../shared/state-file.ts";

const PendingFile = z.object({
  version: z.literal(1),
  messages: z.array(
    z.object({
      id: z.string(),
      group: z.string(),
      senderId: z.string(),
      senderName: z.string(),
      text: z.string(),
      time: z.iso.datetime(),
    }),
  ),
});

export function pendingPath(stateDir: string, id: string): string {
  return stateFilePath(stateDir, "webqq", id, ".pending.json");
}

export class PendingMessages {
  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** The messages left by the last run; an unreadable file is set aside (kept) and reported. */
  async load(): Promise<{ messages: InboundMessage[]; keptAs?: string }> {
    try {
      const parsed = await readJsonFile(this.file, PendingFile, "pending messages");
      return { messages: (parsed?.messages ?? []).map((m) => ({ ...m, time: new Date(m.time) })) };
    } catch (err) {
      if (!(err instanceof UnreadableFileError)) throw err;
      return { messages: [], keptAs: await setAside(this.file) };
    }
  }

  /** Replaces the file with these messages (atomically, mode 0600). */
  async save(messages: readonly InboundMessage[]): Promise<void> {
    const data = { version: 1, messages: messages.map((m) => ({ id: m.id, group: m.group, senderId: m.senderId, senderName: m.senderName, text: m.text, time: m.time.toISOString() })) };
    await writeFileAtomic(this.file, JSON.stringify(data));
  }

  /** Every message of the file reached the sink. */
  async clear(): Promise<void> {
    await removeFile(this.file);
  }
}
