// The persistent id map: for every relayed message, its id on each side it lives on. A reply, an
// edit or a retraction names its message by the id of ITS side (a network message id, a room
// stanza-id, an XMPP message id); the map turns that into the message's source key, and the source
// key into the id the same message has on another side.
//
// One row per (source message, side, copy): the source's own ids (seq 0) are recorded when the
// message is accepted, each delivered copy (seq = its outbox item id) when its send is confirmed.
// `side` is an outbox target key ("xmpp:<room>", "net:<network>:<group>"). `id` is the network's
// message id (SendResult.id / InboundMessage.id form) or, in a room, the stanza-id the room gave it.
// It shares the outbox's SQLite file and connection, so a message's ids are committed with it.
import type { DatabaseSync, StatementSync } from "node:sqlite";

export const ID_MAP_SCHEMA = `
CREATE TABLE IF NOT EXISTS id_map (
  source_key TEXT NOT NULL,
  side TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT,
  origin_id TEXT,
  msg_id TEXT,
  author TEXT,
  excerpt TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (source_key, side, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS id_map_id ON id_map(side, id) WHERE id IS NOT NULL;
CREATE INDEX IF NOT EXISTS id_map_origin ON id_map(side, origin_id) WHERE origin_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS id_map_msg ON id_map(side, msg_id) WHERE msg_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS id_map_age ON id_map(created_at);
`;

/** The ids a message has where it was said. */
export interface SourceIds {
  /** The side it was said on (an outbox target key). */
  side: string;
  /** Network: its message id. Room: the stanza-id the room gave it. */
  id?: string;
  /** Room: its XEP-0359 origin-id. */
  originId?: string;
  /** Room: its message id attribute (what XEP-0308 corrections name). */
  msgId?: string;
  /** Its author's display name (a room: the occupant nick), for quotes and mentions. */
  author: string;
  /** The start of its text, for a quote in a reply. */
  excerpt: string;
}

export interface IdRow {
  sourceKey: string;
  side: string;
  /** 0: the source's own ids; otherwise the outbox item id of the delivered copy. */
  seq: number;
  id: string | null;
  originId: string | null;
  msgId: string | null;
  author: string | null;
  excerpt: string | null;
  createdAt: number;
}

interface Row {
  source_key: string;
  side: string;
  seq: number;
  id: string | null;
  origin_id: string | null;
  msg_id: string | null;
  author: string | null;
  excerpt: string | null;
  created_at: number;
}

function toRow(r: Row): IdRow {
  return {
    sourceKey: r.source_key,
    side: r.side,
    seq: r.seq,
    id: r.id,
    originId: r.origin_id,
    msgId: r.msg_id,
    author: r.author,
    excerpt: r.excerpt,
    createdAt: r.created_at,
  };
}

/** How a side names a message: by its id (network id, room stanza-id), origin-id, or message id attribute. */
export type SideRef = { id: string } | { originId: string } | { msgId: string; author?: string };

export class IdMap {
  readonly #q: Record<string, StatementSync>;
  readonly #guard: <T>(op: string, fn: () => T) => T;

  /** `guard` wraps every operation (the outbox names its file in errors). */
  constructor(db: DatabaseSync, guard: <T>(op: string, fn: () => T) => T) {
    this.#guard = guard;
    const p = (sql: string) => guard("prepare", () => db.prepare(sql));
    this.#q = {
      source: p(
        `INSERT INTO id_map (source_key, side, seq, id, origin_id, msg_id, author, excerpt, created_at)
         VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      // A copy may be confirmed twice (its send's answer and its reflection): the first id wins,
      // a later one fills what was missing.
      copy: p(
        `INSERT INTO id_map (source_key, side, seq, id, origin_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET id = coalesce(id, excluded.id), origin_id = coalesce(origin_id, excluded.origin_id)`,
      ),
      byId: p("SELECT source_key FROM id_map WHERE side = ? AND id = ? ORDER BY created_at DESC LIMIT 1"),
      byOrigin: p("SELECT source_key FROM id_map WHERE side = ? AND origin_id = ? ORDER BY created_at DESC LIMIT 1"),
      byMsg: p("SELECT source_key FROM id_map WHERE side = ? AND msg_id = ? AND (? IS NULL OR author = ?) ORDER BY created_at DESC LIMIT 1"),
      on: p("SELECT * FROM id_map WHERE source_key = ? AND side = ? ORDER BY seq LIMIT 1"),
      origin: p("SELECT * FROM id_map WHERE source_key = ? AND seq = 0 LIMIT 1"),
      prune: p("DELETE FROM id_map WHERE created_at < ?"),
    };
  }

  /** Records where a message was said and its ids there (part of the outbox's accept transaction). */
  recordSource(sourceKey: string, ids: SourceIds, now = Date.now()): void {
    this.#guard("recordSource", () =>
      this.#q.source.run(sourceKey, ids.side, ids.id || null, ids.originId || null, ids.msgId || null, ids.author, ids.excerpt, now),
    );
  }

  /** Records a delivered copy: its side (target), its outbox item id, and its ids there. */
  recordCopy(copy: { sourceKey: string; side: string; itemId: number; id?: string | null; originId?: string | null }, now = Date.now()): void {
    this.#guard("recordCopy", () => this.#q.copy.run(copy.sourceKey, copy.side, copy.itemId, copy.id || null, copy.originId || null, now));
  }

  /** The source key of the message a side names this way; undefined when unknown (never relayed, or pruned). */
  sourceOf(side: string, ref: SideRef): string | undefined {
    return this.#guard("sourceOf", () => {
      let row: unknown;
      if ("id" in ref) row = this.#q.byId.get(side, ref.id);
      else if ("originId" in ref) row = this.#q.byOrigin.get(side, ref.originId);
      else row = this.#q.byMsg.get(side, ref.msgId, ref.author ?? null, ref.author ?? null);
      return (row as { source_key: string } | undefined)?.source_key;
    });
  }

  /** The message's ids on `side`: where it was said, or its first delivered copy (the first part of a split message). */
  on(sourceKey: string, side: string): IdRow | undefined {
    const row = this.#guard("on", () => this.#q.on.get(sourceKey, side) as Row | undefined);
    return row ? toRow(row) : undefined;
  }

  /** Where the message was said: its side, author and excerpt. */
  origin(sourceKey: string): IdRow | undefined {
    const row = this.#guard("origin", () => this.#q.origin.get(sourceKey) as Row | undefined);
    return row ? toRow(row) : undefined;
  }

  /** Forgets ids recorded before `before` (ms epoch): replies to older messages fall back to a quote. */
  prune(before: number): number {
    return this.#guard("prune", () => Number(this.#q.prune.run(before).changes));
  }
}

/** The start of a text for a quote: one line, at most `max` characters, "…" when cut. */
export function excerptOf(text: string, max = 60): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (line.length <= max) return line;
  const cut = line.slice(0, max);
  // Never end on half a surrogate pair.
  const safe = /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
  return `${safe}…`;
}
