// Watching a Consul key with blocking queries, on HTTPStream: node scripts/examples/consul-watch.ts
// (runs offline: it starts a small Consul-like server on loopback first).
//
// The protocol (https://developer.hashicorp.com/consul/api-docs/features/blocking):
// - every answer carries X-Consul-Index; sending it back as `?index=` makes the next request
//   hang until something changes or `wait` elapses (the server adds up to wait/16 of jitter);
// - an answer is no proof of a change: compare the value yourself;
// - the index can go BACKWARDS (a snapshot restore, a leader change): then start again from 0;
// - an index of 0 would make every request return at once (a busy loop): use 1 instead.
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { type ChainHandle, HTTPStream, type Readback, type RequestSpec } from "../../src/index.ts";

// --- the client: what an embedder writes ---------------------------------------------------

export interface WatchOptions {
  base: string;
  key: string;
  /** Seconds the server may hold a query (Consul caps it at 600). */
  waitSeconds: number;
  /** Called with the key's value (null: no such key) whenever it differs from the last one seen. */
  onChange: (value: string | null, index: number) => void;
}

/** The index to send next, given the one sent and the one answered (Consul's two rules). */
export function nextIndex(sent: number, answered: number): number {
  if (!Number.isFinite(answered) || answered <= 0) return 1; // 0 would not block: a busy loop
  if (answered < sent) return 0; // went backwards: restart the blocking loop from scratch
  return answered;
}

export function watchKey(stream: HTTPStream, opts: WatchOptions): ChainHandle {
  let index = 0;
  let last: string | null | undefined;
  const waitMs = opts.waitSeconds * 1000;
  const query = (): RequestSpec => ({
    url: `${opts.base}/v1/kv/${encodeURIComponent(opts.key)}`,
    query: { index, wait: `${opts.waitSeconds}s` },
    longPoll: true,
    // The hold, its jitter (wait/16) and a margin: a silent dead connection is noticed after that.
    timeout: waitMs + waitMs / 16 + 5_000,
  });
  const onAnswer: Readback = async (res) => {
    if (res.status !== 200 && res.status !== 404) throw new Error(`consul answered ${res.status}`);
    const value = res.status === 404 ? null : Buffer.from((await res.json<{ Value: string | null }[]>())[0]?.Value ?? "", "base64").toString();
    index = nextIndex(index, Number(res.headers["x-consul-index"]));
    if (value !== last) {
      last = value;
      opts.onChange(value, index);
    }
    return { request: query(), readback: onAnswer };
  };
  // Errors (after HTTPStream's own retries) back off and query again: the default "retry" policy.
  return stream.add(query(), onAnswer, { name: `consul ${opts.key}` });
}

// --- a small Consul-like server ---------------------------------------------------------------

export interface FakeConsul {
  url: string;
  /** The `index` parameter of every query received, in order. */
  queries: number[];
  set(key: string, value: string): void;
  /** A snapshot restore: the store's index jumps back to `index`, with `key` set to `value`. */
  restore(index: number, key: string, value: string): void;
  /** Resolves when a query with index ≥ `min` is parked, waiting for a change. */
  parked(min: number): Promise<void>;
  close(): Promise<void>;
}

/** `index`: the store's starting index; 0 is a fresh store, which answers X-Consul-Index: 0. */
export async function startFakeConsul(opts: { index?: number } = {}): Promise<FakeConsul> {
  let raft = opts.index ?? 10;
  const kv = new Map<string, { value: string; modify: number }>();
  const waiting = new Set<{ key: string; since: number; wake: () => void }>();
  const parkedWaiters: { min: number; resolve: () => void }[] = [];
  const queries: number[] = [];
  const wakeAll = (key: string): void => {
    for (const w of [...waiting]) if (w.key === key) w.wake();
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    const key = decodeURIComponent(url.pathname.replace(/^\/v1\/kv\//, ""));
    const since = Number(url.searchParams.get("index") ?? "0");
    const waitS = Number((url.searchParams.get("wait") ?? "300s").replace(/s$/, ""));
    queries.push(since);
    const answer = (): void => {
      const entry = kv.get(key);
      const index = entry?.modify ?? raft;
      if (entry === undefined) return void res.writeHead(404, { "x-consul-index": String(index) }).end();
      res.writeHead(200, { "content-type": "application/json", "x-consul-index": String(index) });
      res.end(JSON.stringify([{ Key: key, Value: Buffer.from(entry.value).toString("base64"), ModifyIndex: entry.modify }]));
    };
    const current = kv.get(key)?.modify ?? raft;
    // Blocks only when the client already has this state (index ≥ the key's); otherwise answers
    // now. index=0 never blocks: hence the busy loop a client must avoid when it is answered 0.
    if (since <= 0 || since < current) return answer();
    const w = {
      key,
      since,
      wake: () => {
        clearTimeout(timer);
        waiting.delete(w);
        answer();
      },
    };
    const timer = setTimeout(w.wake, waitS * 1000 + Math.random() * ((waitS * 1000) / 16));
    waiting.add(w);
    res.on("close", () => {
      clearTimeout(timer);
      waiting.delete(w);
    });
    for (const p of parkedWaiters.splice(0)) {
      if (since >= p.min) p.resolve();
      else parkedWaiters.push(p);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    queries,
    set(key, value) {
      kv.set(key, { value, modify: ++raft });
      wakeAll(key);
    },
    restore(index, key, value) {
      raft = index;
      kv.set(key, { value, modify: index });
      wakeAll(key);
    },
    parked(min) {
      return new Promise((resolve) => {
        for (const w of waiting) if (w.since >= min) return resolve();
        parkedWaiters.push({ min, resolve });
      });
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
  const consul = await startFakeConsul();
  const stream = new HTTPStream({ logger: pino({ level: "warn" }) });
  consul.set("config/feature", "off");
  let changes = 0;
  const watch = watchKey(stream, {
    base: consul.url,
    key: "config/feature",
    waitSeconds: 30,
    onChange: (value, index) => {
      console.log(`config/feature = ${value} (index ${index})`);
      changes++;
      if (changes === 1) void consul.parked(index).then(() => consul.set("config/feature", "on"));
      if (changes === 2) void consul.parked(index).then(() => consul.restore(3, "config/feature", "restored"));
      if (changes === 3) watch.cancel();
    },
  });
  await watch.done;
  console.log(`queries sent with index: ${consul.queries.join(", ")}`);
  await stream.close();
  await consul.close();
}
