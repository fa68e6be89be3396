// The durable outbox: every inbound message is committed here (one row per target and part)
// before anyone is told it was received, and a row leaves the "pending" state only when its
// target confirmed it, or as a visible dead letter. A small repository over node:sqlite;
// statements are prepared once. Every error it throws names the database file.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { ID_MAP_SCHEMA, IdMap, type SourceIds } from "./id-map.ts";
import { originIdFor } from "./origin-id.ts";

/**
 * pending: to send, or sent and not yet confirmed (attemptedAt set: "maybe delivered", settled
 * by evidence). delivered: confirmed. failed: a dead letter (never deliverable, or still failing
 * after relay.dead_letter_after), kept with its error.
 */
export type ItemState = "pending" | "delivered" | "failed";

/**
 * message: a text to post. edit: replace the text of message `ref` (a source key) on the target.
 * retract: remove message `ref` from the target. The target resolves `ref` through the id map
 * when it sends (its queue is in order, so the original was sent before).
 */
export type ItemKind = "message" | "edit" | "retract";

/** A picture or file an item carries (stored as JSON). */
export interface ItemMedia {
  kind: "image" | "file";
  name?: string;
  size?: number;
  mime?: string;
  /** From a network: the network that fetches it (fetchMedia) and its opaque ref (never a token URL). */
  network?: string;
  ref?: string;
  /** A URL that needs no token: the room's upload URL (set once uploaded), or the URL a room message carried. */
  url?: string;
}

export interface OutboxItem {
  id: number;
  sourceKey: string;
  bridge: string;
  target: string;
  originId: string;
  text: string;
  /** Display name of the message's author (for dead-letter notices); "" when unknown. */
  sender: string;
  state: ItemState;
  attempts: number;
  /** ms epoch of the last send of an item not confirmed yet (in flight, interrupted by a crash, or answered "maybe"); null when none is unconfirmed. */
  attemptedAt: number | null;
  /** ms epoch of the item's first failed send; null while it has not failed. */
  failingSince: number | null;
  resultId: string | null;
  error: string | null;
  createdAt: number;
  kind: ItemKind;
  /** edit / retract: the source key of the message edited or retracted. */
  ref: string | null;
  /** The source key of the message this one replies to. */
  replyTo: string | null;
  /** What to send instead when the native form cannot be used (no such message on the target): a quote, a correction mark. */
  fallback: string | null;
  media: ItemMedia | null;
}

export interface NewItem {
  bridge: string;
  target: string;
  text: string;
  sender?: string;
  kind?: ItemKind;
  ref?: string;
  replyTo?: string;
  fallback?: string;
  media?: ItemMedia;
  /**
   * edit: when the edited message (`ref`) is still unsent to this target (its one item pending,
   * never attempted), it takes this text and no edit is queued: the target never sees two copies.
   */
  pendingText?: string;
}

export interface AcceptInput {
  /** Identity of the inbound message (e.g. "net:qq:<id>", "xmpp:room@conf:<stanza-id>"): dedupe key. */
  sourceKey: string;
  items: NewItem[];
  /** Moves the room's last-seen time forward (never back) in the same transaction. */
  roomSeen?: { room: string; time: Date };
  /** The message's ids where it was said, recorded in the id map in the same transaction. */
  ids?: SourceIds;
}

/**
 * Proof that a send reached its target. A room reflected our origin-id; or a network echoed a
 * message our account sent to `target` with this text: it confirms the target's unconfirmed item
 * (a worker has at most one), `resultId` being the echo's message id.
 */
export type Confirmation = { originId: string; resultId?: string } | { target: string; text: string; resultId: string };

interface Row {
  id: number;
  source_key: string;
  bridge: string;
  target: string;
  origin_id: string;
  text: string;
  sender: string | null;
  state: ItemState;
  attempts: number;
  attempted_at: number | null;
  failing_since: number | null;
  result_id: string | null;
  error: string | null;
  created_at: number;
  kind: ItemKind | null;
  ref: string | null;
  reply_to: string | null;
  fallback: string | null;
  media: string | null;
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
  done_at INTEGER,
  failing_since INTEGER,
  sender TEXT,
  kind TEXT NOT NULL DEFAULT 'message',
  ref TEXT,
  reply_to TEXT,
  fallback TEXT,
  media TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(target, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_result ON outbox(target, result_id) WHERE result_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS room_seen (room TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
`;

/** Columns added after the first schema: an older file gets them at open. */
const ADDED_COLUMNS: Record<string, string> = {
  failing_since: "INTEGER",
  sender: "TEXT",
  // Rich messages (edits, retractions, replies, media): an older file's rows are plain messages.
  kind: "TEXT NOT NULL DEFAULT 'message'",
  ref: "TEXT",
  reply_to: "TEXT",
  fallback: "TEXT",
  media: "TEXT",
};

function toItem(r: Row): OutboxItem {
  return {
    id: r.id,
    sourceKey: r.source_key,
    bridge: r.bridge,
    target: r.target,
    originId: r.origin_id,
    text: r.text,
    sender: r.sender ?? "",
    state: r.state,
    attempts: r.attempts,
    attemptedAt: r.attempted_at,
    failingSince: r.failing_since,
    resultId: r.result_id,
    error: r.error,
    createdAt: r.created_at,
    kind: r.kind ?? "message",
    ref: r.ref,
    replyTo: r.reply_to,
    fallback: r.fallback,
    media: r.media ? parseMedia(r.media) : null,
  };
}

/** A row's media JSON; a row someone damaged is read as no media (its text, the fallback note, is sent). */
function parseMedia(json: string): ItemMedia | null {
  try {
    const m = JSON.parse(json) as ItemMedia;
    return m && typeof m === "object" && (m.kind === "image" || m.kind === "file") ? m : null;
  } catch {
    return null;
  }
}

/** Echoes may differ from what we sent in surrounding and repeated whitespace only. */
export function sameText(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/\s+/g, " ");
  return norm(a) === norm(b);
}

/** The outbox file's name in state_dir (run, check and the outbox tools open the same file). */
export const OUTBOX_FILE = "outbox.sqlite";

/** An outbox operation failed; the message names the database file. */
export class OutboxError extends Error {
  readonly path: string;
  constructor(path: string, op: string, cause: unknown) {
    super(`outbox ${path}: ${op} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "OutboxError";
    this.path = path;
  }
}

export class Outbox {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #q: Record<string, StatementSync>;
  /** How many rows the old terminal state "unknown" held at open (turned back into unconfirmed pending items). */
  readonly migratedUnknown: number;
  /** Each relayed message's ids on each side (same file, same connection). */
  readonly ids: IdMap;

  constructor(path: string) {
    this.path = path;
    const { db, migrated } = this.#guard("open", () => {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      const db = new DatabaseSync(path);
      // WAL + FULL: a COMMIT that returned survives a power cut, not only a process crash.
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
      return { db, migrated: migrate(db) };
    });
    this.#db = db;
    this.migratedUnknown = migrated;
    const p = (sql: string) => this.#guard("prepare", () => this.#db.prepare(sql));
    this.#q = {
      // ON CONFLICT, not OR IGNORE: only the duplicate is skipped, other constraint errors throw.
      seenInsert: p("INSERT INTO seen (key, at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING"),
      seenGet: p("SELECT 1 AS x FROM seen WHERE key = ?"),
      itemInsert: p(
        `INSERT INTO outbox (source_key, bridge, target, origin_id, text, sender, created_at, kind, ref, reply_to, fallback, media)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(origin_id) DO NOTHING RETURNING *`,
      ),
      // The copies of a message on one target, and the unsent edits queued for it.
      copies: p("SELECT id, state, attempted_at FROM outbox WHERE source_key = ? AND target = ? AND kind = 'message' ORDER BY id"),
      unsentEdits: p("SELECT id FROM outbox WHERE target = ? AND state = 'pending' AND attempted_at IS NULL AND kind = 'edit' AND ref = ? ORDER BY id"),
      setUnsentText: p("UPDATE outbox SET text = ?, fallback = ? WHERE id = ? AND state = 'pending' AND attempted_at IS NULL"),
      dropUnsent: p("DELETE FROM outbox WHERE id = ? AND state = 'pending' AND attempted_at IS NULL"),
      resolve: p("UPDATE outbox SET kind = ?, text = ?, fallback = NULL, reply_to = NULL, media = NULL WHERE id = ? AND state = 'pending'"),
      setMedia: p("UPDATE outbox SET media = ? WHERE id = ?"),
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
      failed: p(
        `UPDATE outbox SET attempted_at = CASE WHEN ? THEN attempted_at ELSE NULL END, error = ?,
         failing_since = coalesce(failing_since, ?) WHERE id = ? AND state = 'pending' RETURNING failing_since`,
      ),
      deliver: p(
        `UPDATE outbox SET state = 'delivered', result_id = coalesce(?, result_id), attempted_at = NULL, done_at = ?
         WHERE id = ? AND state = 'pending' RETURNING *`,
      ),
      deliverByOrigin: p(
        `UPDATE outbox SET state = 'delivered', result_id = coalesce(?, result_id), attempted_at = NULL, done_at = ?
         WHERE origin_id = ? AND state = 'pending' RETURNING *`,
      ),
      deadLetter: p("UPDATE outbox SET state = 'failed', error = ?, attempted_at = NULL, done_at = ? WHERE id = ? AND state = 'pending'"),
      oldestAttempt: p("SELECT min(attempted_at) AS at FROM outbox WHERE target = ? AND state = 'pending'"),
      depth: p("SELECT count(*) AS n FROM outbox WHERE state = 'pending'"),
      queued: p("SELECT bridge, target, count(*) AS n FROM outbox WHERE state = 'pending' GROUP BY bridge, target"),
      deadLetters: p("SELECT target, count(*) AS n FROM outbox WHERE state = 'failed' GROUP BY target"),
      byState: p("SELECT * FROM outbox WHERE state = ? ORDER BY id"),
      pruneItems: p("DELETE FROM outbox WHERE state = 'delivered' AND done_at < ?"),
      // Operator tools (pollbridge outbox), from another process than the running bridge.
      open: p("SELECT * FROM outbox WHERE state IN ('pending', 'failed') ORDER BY target, id"),
      requeue: p(
        `UPDATE outbox SET id = (SELECT max(id) + 1 FROM outbox), state = 'pending', attempted_at = NULL,
         failing_since = NULL, done_at = NULL WHERE id = ? AND state = 'failed' RETURNING id`,
      ),
      drop: p("DELETE FROM outbox WHERE id = ? AND state IN ('pending', 'failed')"),
      dataVersion: p("PRAGMA data_version"),
      pruneSeen: p("DELETE FROM seen WHERE at < ?"),
    };
    this.ids = new IdMap(this.#db, (op, fn) => this.#guard(op, fn));
  }

  #guard<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw err instanceof OutboxError ? err : new OutboxError(this.path, op, err);
    }
  }

  /**
   * Commits an inbound message: its dedupe key, one pending item per target, and the room's
   * last-seen time, all or nothing. Returns the new items, or null when the key was already seen
   * (a redelivery: nothing is written).
   */
  accept(input: AcceptInput, now = Date.now()): OutboxItem[] | null {
    return this.#guard("accept", () => {
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
          if (this.#settledUnsent(it)) continue;
          const part = parts.get(it.target) ?? 0;
          parts.set(it.target, part + 1);
          const originId = originIdFor(input.sourceKey, it.target, part);
          const row = q.itemInsert.get(
            input.sourceKey, it.bridge, it.target, originId, it.text, it.sender ?? null, now,
            it.kind ?? "message", it.ref ?? null, it.replyTo ?? null, it.fallback ?? null, it.media ? JSON.stringify(it.media) : null,
          ) as Row | undefined;
          if (row) items.push(toItem(row));
        }
        if (input.roomSeen) q.roomSeenUpsert.run(input.roomSeen.room, input.roomSeen.time.getTime());
        if (input.ids) this.ids.recordSource(input.sourceKey, input.ids, now);
        this.#db.exec("COMMIT");
        return items;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  /**
   * An edit or a retraction of a message the target has not been sent yet is applied to the
   * waiting item instead of being queued (inside accept's transaction). A worker marks an item
   * attempted before it sends it and sends what it reads after that mark, so an unattempted item
   * is certainly not out. Returns true when nothing needs to be queued.
   */
  #settledUnsent(it: NewItem): boolean {
    if (!it.ref || (it.kind !== "edit" && it.kind !== "retract")) return false;
    const q = this.#q;
    const copies = q.copies.all(it.ref, it.target) as { id: number; state: ItemState; attempted_at: number | null }[];
    const unsent = copies.filter((c) => c.state === "pending" && c.attempted_at === null);
    const edits = q.unsentEdits.all(it.target, it.ref) as { id: number }[];
    if (it.kind === "edit") {
      // A later edit of the same message replaces an edit still waiting: the last text wins.
      const last = edits.at(-1);
      if (last) return q.setUnsentText.run(it.text, it.fallback ?? null, last.id).changes > 0;
      const only = copies.length === 1 ? unsent[0] : undefined;
      return only !== undefined && q.setUnsentText.run(it.pendingText ?? it.text, null, only.id).changes > 0;
    }
    for (const e of edits) q.dropUnsent.run(e.id);
    for (const c of unsent) q.dropUnsent.run(c.id);
    // Queued only when a copy may be out there (sent, in flight), or the target may hold the
    // message without an item of ours (it was said there, or its items were pruned).
    const out = copies.filter((c) => c.state !== "failed" && !unsent.includes(c));
    return unsent.length > 0 && out.length === 0;
  }

  seen(sourceKey: string): boolean {
    return this.#guard("seen", () => this.#q.seenGet.get(sourceKey) !== undefined);
  }

  lastSeen(room: string): Date | undefined {
    const row = this.#guard("lastSeen", () => this.#q.roomSeenGet.get(room) as { at: number } | undefined);
    return row ? new Date(row.at) : undefined;
  }

  setLastSeen(room: string, time: Date): void {
    this.#guard("setLastSeen", () => this.#q.roomSeenUpsert.run(room, time.getTime()));
  }

  /** The oldest pending item of a target: per-target order is the outbox's insertion order. */
  next(target: string): OutboxItem | undefined {
    const row = this.#guard("next", () => this.#q.next.get(target) as Row | undefined);
    return row ? toItem(row) : undefined;
  }

  get(id: number): OutboxItem | undefined {
    const row = this.#guard("get", () => this.#q.get.get(id) as Row | undefined);
    return row ? toItem(row) : undefined;
  }

  byOriginId(originId: string): OutboxItem | undefined {
    const row = this.#guard("byOriginId", () => this.#q.byOrigin.get(originId) as Row | undefined);
    return row ? toItem(row) : undefined;
  }

  /** True when `resultId` is the id a network gave one of our sends to `target` (its own echo). */
  sentAs(target: string, resultId: string): boolean {
    return this.#guard("sentAs", () => this.#q.byResult.get(target, resultId) !== undefined);
  }

  /** Records, before the send starts, that a send is in flight: a crash leaves this mark behind. */
  markAttempt(id: number, now = Date.now()): void {
    this.#guard("markAttempt", () => this.#q.attempt.run(now, id));
  }

  /**
   * A send failed. `maybeDelivered` keeps the attempt mark (the item is settled by evidence
   * before it is sent again); otherwise the item is plainly pending again. Returns when the item
   * started failing (ms epoch), or undefined when it is no longer pending.
   */
  markFailed(id: number, error: string, maybeDelivered: boolean, now = Date.now()): number | undefined {
    const row = this.#guard("markFailed", () => this.#q.failed.get(maybeDelivered ? 1 : 0, error, now, id) as { failing_since: number } | undefined);
    return row?.failing_since;
  }

  /**
   * The target answered success (`resultId`: the network's message id; a room: the stanza-id it
   * gave). Records the copy in the id map. Returns the item, or undefined when it was settled
   * before (e.g. by its echo).
   */
  markDelivered(id: number, resultId?: string, now = Date.now()): OutboxItem | undefined {
    return this.#guard("markDelivered", () => this.#recorded(this.#q.deliver.get(resultId || null, now, id) as Row | undefined, now));
  }

  /** A delivered row as an item, its copy recorded in the id map. */
  #recorded(row: Row | undefined, now: number): OutboxItem | undefined {
    if (!row) return undefined;
    const item = toItem(row);
    // Edits and retractions are not messages of their own (an edit may keep the original's id).
    if (item.kind === "message") {
      this.ids.recordCopy({ sourceKey: item.sourceKey, side: item.target, itemId: item.id, id: item.resultId, originId: item.originId }, now);
    }
    return item;
  }

  /**
   * Persists the form a target chose for an item when it sends it (a reply without its target
   * message becomes a message with its quote; an edit without its original a correction
   * message): evidence (echo text, history lookup) then looks for what was really sent.
   */
  resolve(id: number, form: { kind: ItemKind; text: string }): void {
    this.#guard("resolve", () => this.#q.resolve.run(form.kind, form.text, id));
  }

  /** Stores an item's media once uploaded (its URL), so a resend does not upload it again. */
  setMedia(id: number, media: ItemMedia): void {
    this.#guard("setMedia", () => this.#q.setMedia.run(JSON.stringify(media), id));
  }

  /** Commits a confirmation (see Confirmation). Returns the item it confirmed, or undefined. */
  confirm(c: Confirmation, now = Date.now()): OutboxItem | undefined {
    return this.#guard("confirm", () => {
      if ("originId" in c) return this.#recorded(this.#q.deliverByOrigin.get(c.resultId || null, now, c.originId) as Row | undefined, now);
      const head = this.next(c.target);
      if (!head || head.attemptedAt === null || !sameText(head.text, c.text)) return undefined;
      return this.markDelivered(head.id, c.resultId, now);
    });
  }

  /** Dead-letters an item: kept in the outbox with its error, never resent. */
  deadLetter(id: number, error: string, now = Date.now()): boolean {
    return this.#guard("deadLetter", () => this.#q.deadLetter.run(error, now, id).changes > 0);
  }

  oldestAttempt(target: string): number | undefined {
    const row = this.#guard("oldestAttempt", () => this.#q.oldestAttempt.get(target) as { at: number | null });
    return row.at ?? undefined;
  }

  depth(): number {
    return this.#guard("depth", () => (this.#q.depth.get() as { n: number }).n);
  }

  queued(): { bridge: string; target: string; n: number }[] {
    return this.#guard("queued", () => this.#q.queued.all() as { bridge: string; target: string; n: number }[]);
  }

  /** Dead letters per target. */
  deadLetters(): { target: string; n: number }[] {
    return this.#guard("deadLetters", () => (this.#q.deadLetters.all() as { target: string; n: number }[]).map(({ target, n }) => ({ target, n })));
  }

  inState(state: ItemState): OutboxItem[] {
    return this.#guard("inState", () => (this.#q.byState.all(state) as unknown as Row[]).map(toItem));
  }

  /** Pending items and dead letters, by target then queue order (for pollbridge outbox). */
  openItems(): OutboxItem[] {
    return this.#guard("openItems", () => (this.#q.open.all() as unknown as Row[]).map(toItem));
  }

  /**
   * Puts a dead letter back at the end of its target's queue (a new id, so the target's order
   * and its one-unconfirmed-item rule hold; the origin-id stays, so a late reflection still
   * confirms it). Returns the new id, or undefined when `id` is not a dead letter.
   */
  requeue(id: number): number | undefined {
    return this.#guard("requeue", () => {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        const row = this.#q.requeue.get(id) as { id: number } | undefined;
        this.#db.exec("COMMIT");
        return row?.id;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  /** Removes a pending item or a dead letter for good; false when there is none with this id. */
  drop(id: number): boolean {
    return this.#guard("drop", () => this.#q.drop.run(id).changes > 0);
  }

  /** SQLite's data_version: it changes when another connection (pollbridge outbox) committed. */
  dataVersion(): number {
    return this.#guard("dataVersion", () => Number((this.#q.dataVersion.get() as { data_version: number }).data_version));
  }

  /**
   * Forgets delivered items and dedupe keys older than `before` (dead letters are kept), and, with
   * `idsBefore`, the id map's rows older than that (relay.id_map_max_age).
   */
  prune(before: number, idsBefore?: number): void {
    this.#guard("prune", () => {
      this.#q.pruneItems.run(before);
      this.#q.pruneSeen.run(before);
      if (idsBefore !== undefined) this.ids.prune(idsBefore);
    });
  }

  close(): void {
    if (this.#db.isOpen) this.#guard("close", () => this.#db.close());
  }
}

/**
 * Brings a file of any earlier schema up to date, in one transaction. Rows in the old terminal
 * state "unknown" (maybe delivered, never resent) become pending items with an attempt mark, so
 * that they are settled by evidence like any unconfirmed send. Returns how many there were.
 */
function migrate(db: DatabaseSync): number {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(SCHEMA);
    db.exec(ID_MAP_SCHEMA);
    const have = new Set((db.prepare("PRAGMA table_info(outbox)").all() as { name: string }[]).map((c) => c.name));
    for (const [name, type] of Object.entries(ADDED_COLUMNS)) if (!have.has(name)) db.exec(`ALTER TABLE outbox ADD COLUMN ${name} ${type}`);
    // The attempt time was cleared when the row was settled; its creation is an earlier bound,
    // which is what a history lookup ("sent at or after") needs.
    const n = db
      .prepare(
        `UPDATE outbox SET state = 'pending', attempted_at = coalesce(attempted_at, created_at),
         failing_since = coalesce(failing_since, done_at, created_at), done_at = NULL WHERE state = 'unknown'`,
      )
      .run().changes;
    db.exec("COMMIT");
    return Number(n);
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}
