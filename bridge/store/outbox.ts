// The durable outbox: every inbound message is committed here (one row per target and part)
// before anyone is told it was received, and a row leaves the "pending" state only when its
// target confirmed it. A small repository over node:sqlite; statements are prepared once.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { originIdFor } from "./origin-id.ts";

/** pending: to send. delivered: confirmed. failed: never deliverable. unknown: maybe delivered, not resent. */
export type ItemState = "pending" | "delivered" | "failed" | "unknown";

export interface OutboxItem {
  id: number;
  sourceKey: string;
  bridge: string;
  target: string;
  originId: string;
  text: string;
  state: ItemState;
  attempts: number;
  /** ms epoch of the send in flight (or interrupted by a crash); null when no send is in flight. */
  attemptedAt: number | null;
  resultId: string | null;
  error: string | null;
  createdAt: number;
}

export interface NewItem {
  bridge: string;
  target: string;
  text: string;
}

export interface AcceptInput {
  /** Identity of the inbound message (e.g. "net:qq:<id>", "xmpp:room@conf:<stanza-id>"): dedupe key. */
  sourceKey: string;
  items: NewItem[];
  /** Moves the room's last-seen time forward (never back) in the same transaction. */
  roomSeen?: { room: string; time: Date };
}

interface Row {
  id: number;
  source_key: string;
  bridge: string;
  target: string;
  origin_id: string;
  text: string;
  state: ItemState;
  attempts: number;
  attempted_at: number | null;
  result_id: string | null;
  error: string | null;
  created_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_key TEXT NOT NULL,
  bridge TEXT NOT NULL,
  target TEXT NOT NULL,
  origin_id TEXT NOT NULL UNIQUE,
  text TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  attempted_at INTEGER,
  result_id TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  done_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(target, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_result ON outbox(target, result_id) WHERE result_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS room_seen (room TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
`;

function toItem(r: Row): OutboxItem {
  return {
    id: r.id,
    sourceKey: r.source_key,
    bridge: r.bridge,
    target: r.target,
    originId: r.origin_id,
    text: r.text,
    state: r.state,
    attempts: r.attempts,
    attemptedAt: r.attempted_at,
    resultId: r.result_id,
    error: r.error,
    createdAt: r.created_at,
  };
}

export class Outbox {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #q: Record<string, StatementSync>;

  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.#db = new DatabaseSync(path);
    // WAL + FULL: a COMMIT that returned survives a power cut, not only a process crash.
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    this.#db.exec(SCHEMA);
    const p = (sql: string) => this.#db.prepare(sql);
    this.#q = {
      // ON CONFLICT, not OR IGNORE: only the duplicate is skipped, other constraint errors throw.
      seenInsert: p("INSERT INTO seen (key, at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING"),
      seenGet: p("SELECT 1 AS x FROM seen WHERE key = ?"),
      itemInsert: p(
        `INSERT INTO outbox (source_key, bridge, target, origin_id, text, created_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(origin_id) DO NOTHING RETURNING *`,
      ),
      roomSeenUpsert: p(
        `INSERT INTO room_seen (room, at) VALUES (?, ?)
         ON CONFLICT(room) DO UPDATE SET at = max(at, excluded.at)`,
      ),
      roomSeenGet: p("SELECT at FROM room_seen WHERE room = ?"),
      next: p("SELECT * FROM outbox WHERE target = ? AND state = 'pending' ORDER BY id LIMIT 1"),
      get: p("SELECT * FROM outbox WHERE id = ?"),
      byOrigin: p("SELECT * FROM outbox WHERE origin_id = ?"),
      byResult: p("SELECT 1 AS x FROM outbox WHERE target = ? AND result_id = ? LIMIT 1"),
      attempt: p("UPDATE outbox SET attempted_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'"),
      clearAttempt: p("UPDATE outbox SET attempted_at = NULL, error = ? WHERE id = ? AND state = 'pending'"),
      deliver: p(
        `UPDATE outbox SET state = 'delivered', result_id = coalesce(?, result_id), attempted_at = NULL, done_at = ?
         WHERE id = ? AND state = 'pending'`,
      ),
      deliverByOrigin: p(
        `UPDATE outbox SET state = 'delivered', attempted_at = NULL, done_at = ?
         WHERE origin_id = ? AND state IN ('pending', 'unknown') RETURNING *`,
      ),
      settle: p("UPDATE outbox SET state = ?, error = ?, attempted_at = NULL, done_at = ? WHERE id = ? AND state = 'pending'"),
      oldestAttempt: p("SELECT min(attempted_at) AS at FROM outbox WHERE target = ? AND state = 'pending'"),
      depth: p("SELECT count(*) AS n FROM outbox WHERE state = 'pending'"),
      queued: p("SELECT bridge, target, count(*) AS n FROM outbox WHERE state = 'pending' GROUP BY bridge, target"),
      byState: p("SELECT * FROM outbox WHERE state = ? ORDER BY id"),
      pruneItems: p("DELETE FROM outbox WHERE state = 'delivered' AND done_at < ?"),
      pruneSeen: p("DELETE FROM seen WHERE at < ?"),
    };
  }

  /**
   * Commits an inbound message: its dedupe key, one pending item per target, and the room's
   * last-seen time, all or nothing. Returns the new items, or null when the key was already seen
   * (a redelivery: nothing is written).
   */
  accept(input: AcceptInput, now = Date.now()): OutboxItem[] | null {
    const q = this.#q;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      if (q.seenInsert.run(input.sourceKey, now).changes === 0) {
        this.#db.exec("ROLLBACK");
        return null;
      }
      const items: OutboxItem[] = [];
      const parts = new Map<string, number>();
      for (const it of input.items) {
        const part = parts.get(it.target) ?? 0;
        parts.set(it.target, part + 1);
        const row = q.itemInsert.get(input.sourceKey, it.bridge, it.target, originIdFor(input.sourceKey, it.target, part), it.text, now) as Row | undefined;
        if (row) items.push(toItem(row));
      }
      if (input.roomSeen) q.roomSeenUpsert.run(input.roomSeen.room, input.roomSeen.time.getTime());
      this.#db.exec("COMMIT");
      return items;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  seen(sourceKey: string): boolean {
    return this.#q.seenGet.get(sourceKey) !== undefined;
  }

  lastSeen(room: string): Date | undefined {
    const row = this.#q.roomSeenGet.get(room) as { at: number } | undefined;
    return row ? new Date(row.at) : undefined;
  }

  setLastSeen(room: string, time: Date): void {
    this.#q.roomSeenUpsert.run(room, time.getTime());
  }

  /** The oldest pending item of a target: per-target order is the outbox's insertion order. */
  next(target: string): OutboxItem | undefined {
    const row = this.#q.next.get(target) as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  get(id: number): OutboxItem | undefined {
    const row = this.#q.get.get(id) as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  byOriginId(originId: string): OutboxItem | undefined {
    const row = this.#q.byOrigin.get(originId) as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  /** True when `resultId` is the id a network gave one of our sends to `target` (our own echo). */
  sentAs(target: string, resultId: string): boolean {
    return this.#q.byResult.get(target, resultId) !== undefined;
  }

  /** Records, before the send starts, that a send is in flight: a crash leaves this mark behind. */
  markAttempt(id: number, now = Date.now()): void {
    this.#q.attempt.run(now, id);
  }

  /** The send certainly did not deliver: the item is plainly pending again. */
  clearAttempt(id: number, error: string): void {
    this.#q.clearAttempt.run(error, id);
  }

  markDelivered(id: number, resultId?: string, now = Date.now()): boolean {
    return this.#q.deliver.run(resultId || null, now, id).changes > 0;
  }

  /** A room reflected this origin-id: whatever we thought, it was delivered. */
  markDeliveredByOriginId(originId: string, now = Date.now()): OutboxItem | undefined {
    const row = this.#q.deliverByOrigin.get(now, originId) as Row | undefined;
    return row ? toItem(row) : undefined;
  }

  /** Dead-letters an item: kept in the outbox with its error, never resent. */
  settle(id: number, state: "failed" | "unknown", error: string, now = Date.now()): boolean {
    return this.#q.settle.run(state, error, now, id).changes > 0;
  }

  oldestAttempt(target: string): number | undefined {
    const row = this.#q.oldestAttempt.get(target) as { at: number | null };
    return row.at ?? undefined;
  }

  depth(): number {
    return (this.#q.depth.get() as { n: number }).n;
  }

  queued(): { bridge: string; target: string; n: number }[] {
    return this.#q.queued.all() as { bridge: string; target: string; n: number }[];
  }

  inState(state: ItemState): OutboxItem[] {
    return (this.#q.byState.all(state) as unknown as Row[]).map(toItem);
  }

  /** Forgets delivered items and dedupe keys older than `before` (dead letters are kept). */
  prune(before: number): void {
    this.#q.pruneItems.run(before);
    this.#q.pruneSeen.run(before);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
