// Following a CouchDB database's changes feed, on HTTPStream: node scripts/examples/couchdb-changes.ts
// (runs offline: it starts a small CouchDB-like server on loopback first).
//
// The protocol (https://docs.couchdb.org/en/stable/api/database/changes.html), feed=longpoll:
// - GET /db/_changes?feed=longpoll&since=SEQ answers as soon as there is a change after SEQ (or
//   after `timeout` ms with none) with {"results": [...], "last_seq": SEQ', "pending": n};
// - sequences are opaque strings: keep `last_seq` and send it back as `since`, never do sums on it;
// - `heartbeat=MS` makes the server send a newline every MS while it waits: the client's timeout
//   (the longest silence HTTPStream accepts) can then be a few heartbeats, not the whole hold, so a
//   dead connection is noticed in seconds. The newlines lead the JSON body and parse as whitespace.
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { type ChainHandle, HTTPStream, type Readback, type RequestSpec } from "../../src/index.ts";

// --- the client: what an embedder writes ---------------------------------------------------

export interface Change {
  seq: string;
  id: string;
  deleted?: boolean;
  changes: { rev: string }[];
}

export interface FollowOptions {
  base: string;
  db: string;
  /** Where to resume: a saved last_seq, "0" for everything, "now" for new changes only. */
  since: string;
  heartbeatMs: number;
  /** Hand the changes over; resolve once they are stored. `lastSeq` is what to save for a restart. */
  onChanges: (changes: Change[], lastSeq: string) => Promise<void> | void;
}

export function followChanges(stream: HTTPStream, opts: FollowOptions): ChainHandle {
  let since = opts.since;
  const poll = (): RequestSpec => ({
    url: `${opts.base}/${encodeURIComponent(opts.db)}/_changes`,
    query: { feed: "longpoll", since, heartbeat: opts.heartbeatMs },
    longPoll: true,
    // The longest silence accepted: a few heartbeats, whatever the server's hold.
    timeout: opts.heartbeatMs * 4,
  });
  const onFeed: Readback = async (res) => {
    if (res.status !== 200) throw new Error(`_changes answered ${res.status}`);
    const { results, last_seq } = await res.json<{ results: Change[]; last_seq: string | number }>();
    // Stored first, then the cursor moves: a crash in between replays these changes, never skips them.
    if (results.length > 0) await opts.onChanges(results, String(last_seq));
    since = String(last_seq);
    return { request: poll(), readback: onFeed };
  };
  // A cut connection or a 5xx: HTTPStream retries it, then the chain backs off and polls again,
  // from the same `since`: nothing is skipped.
  return stream.add(poll(), onFeed, { name: `_changes ${opts.db}` });
}

// --- a small CouchDB-like server --------------------------------------------------------------

export interface FakeCouch {
  url: string;
  /** The `since` of every _changes request received, in order. */
  sinces: string[];
  /** Heartbeat newlines written so far. */
  heartbeats(): number;
  put(db: string, id: string): string;
  /** Resolves once `n` heartbeats in all were written. */
  heartbeatsReach(n: number): Promise<void>;
  /** Cuts every connection that waits for a change. */
  dropWaiting(): number;
  close(): Promise<void>;
}

export async function startFakeCouch(): Promise<FakeCouch> {
  const log: { db: string; n: number; id: string; rev: number }[] = [];
  const waiting = new Set<{ db: string; wake: () => void; res: http.ServerResponse }>();
  const sinces: string[] = [];
  let beats = 0;
  let beatWaiters: { n: number; resolve: () => void }[] = [];
  // Opaque sequence strings, as CouchDB 2+ makes them: a number, a dash, an encoded blob.
  const seq = (n: number): string => `${n}-g1AAAA${Buffer.from(`node${n}`).toString("base64url")}`;
  const seqNumber = (s: string): number => (s === "now" ? log.length : Number(s.split("-")[0]) || 0);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const db = decodeURIComponent(url.pathname.split("/")[1] ?? "");
    const since = url.searchParams.get("since") ?? "0";
    const heartbeat = Number(url.searchParams.get("heartbeat") ?? "0");
    sinces.push(since);
    const after = seqNumber(since);
    res.writeHead(200, { "content-type": "application/json" }); // headers first, as CouchDB does
    const answer = (): void => {
      const results = log.filter((c) => c.db === db && c.n > after).map((c) => ({ seq: seq(c.n), id: c.id, changes: [{ rev: `${c.rev}-x` }] }));
      const last = results.length > 0 ? results[results.length - 1]!.seq : since;
      res.end(JSON.stringify({ results, last_seq: last, pending: 0 }) + "\n");
    };
    if (log.some((c) => c.db === db && c.n > after)) return answer();
    const timer = heartbeat > 0 ? setInterval(() => {
      res.write("\n");
      beats++;
      beatWaiters = beatWaiters.filter((w) => (beats >= w.n ? (w.resolve(), false) : true));
    }, heartbeat) : undefined;
    const w = {
      db,
      res,
      wake: () => {
        clearInterval(timer);
        waiting.delete(w);
        answer();
      },
    };
    waiting.add(w);
    res.on("close", () => {
      clearInterval(timer);
      waiting.delete(w);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sinces,
    heartbeats: () => beats,
    put(db, id) {
      const rev = log.filter((c) => c.id === id).length + 1;
      log.push({ db, n: log.length + 1, id, rev });
      for (const w of [...waiting]) if (w.db === db) w.wake();
      return seq(log.length);
    },
    heartbeatsReach(n) {
      return new Promise((resolve) => (beats >= n ? resolve() : beatWaiters.push({ n, resolve })));
    },
    dropWaiting() {
      const n = waiting.size;
      for (const w of [...waiting]) w.res.socket?.destroy();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// --- the demo ---------------------------------------------------------------------------------

if (import.meta.main) {
  const couch = await startFakeCouch();
  const stream = new HTTPStream({ logger: pino({ level: "warn" }), chainBackoff: { min: 100, max: 1000 } });
  couch.put("orders", "order-1");
  let saved = "0"; // a real follower writes this to disk after each batch
  let seen = 0;
  const feed = followChanges(stream, {
    base: couch.url,
    db: "orders",
    since: saved,
    heartbeatMs: 200,
    onChanges: (changes, lastSeq) => {
      for (const c of changes) console.log(`change ${c.id} rev ${c.changes[0]!.rev} (seq ${c.seq.slice(0, 12)}…)`);
      saved = lastSeq;
      seen += changes.length;
      if (seen === 1) void couch.heartbeatsReach(3).then(() => couch.put("orders", "order-2"));
      if (seen === 2) void couch.heartbeatsReach(5).then(() => (couch.dropWaiting(), couch.put("orders", "order-1")));
      if (seen === 3) feed.cancel();
    },
  });
  await feed.done;
  console.log(`heartbeats received: ${couch.heartbeats()}; since values sent: ${couch.sinces.map((s) => s.split("-")[0]).join(", ")}; saved last_seq ${saved.split("-")[0]}`);
  await stream.close();
  await couch.close();
}
