// Configured Telegram groups: a chat id ("-1001234567890"), a public "@username", or
// "chat/thread" for one forum topic. Ids are numbers on the wire and strings in the config:
// every comparison is between strings.

export interface GroupTarget {
  /** As configured: the InboundMessage.group and the send() key. */
  key: string;
  /** chat_id for the API: the id string, or "@username". */
  chatId: string;
  /** message_thread_id of a forum topic. */
  threadId?: number;
}

const GROUP = /^(-?\d{1,20}|@[A-Za-z]\w{3,31})(?:\/(\d{1,10}))?$/;

/** Parses a configured group; throws a clear error for anything else. */
export function parseGroup(raw: string): GroupTarget {
  const key = raw.trim();
  const m = GROUP.exec(key);
  if (!m) throw new Error(`telegram group "${raw}" is not a chat id (e.g. -1001234567890), an @username, or "chat_id/thread_id"`);
  const threadId = m[2] === undefined ? undefined : Number(m[2]);
  return { key, chatId: m[1]!, ...(threadId === undefined ? {} : { threadId }) };
}

/** The chat fields a group is matched on. */
export interface ChatRef {
  id: string;
  username?: string;
}

/** Finds the configured group of a message: its topic first, then the whole chat. */
export class GroupIndex {
  private readonly byKey = new Map<string, GroupTarget>();

  constructor(targets: GroupTarget[]) {
    for (const t of targets) this.byKey.set(t.key, t);
  }

  get(key: string): GroupTarget | undefined {
    return this.byKey.get(key.trim());
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  /** The group a message of `chat` (in forum topic `threadId`, if any) belongs to. */
  match(chat: ChatRef, threadId: number | undefined): GroupTarget | undefined {
    const names = [chat.id];
    if (chat.username !== undefined) names.push(`@${chat.username}`);
    for (const name of names) {
      if (threadId !== undefined) {
        const topic = this.findCaseless(`${name}/${threadId}`);
        if (topic) return topic;
      }
      const whole = this.findCaseless(name);
      if (whole) return whole;
    }
    return undefined;
  }

  /** Usernames are case-insensitive on Telegram; ids have no case. */
  private findCaseless(key: string): GroupTarget | undefined {
    const exact = this.byKey.get(key);
    if (exact || !key.startsWith("@")) return exact;
    const lower = key.toLowerCase();
    for (const [k, t] of this.byKey) if (k.toLowerCase() === lower) return t;
    return undefined;
  }
}
