// Where HTTPStream's parked-poll heap goes, against raw undici: both park POLLS long polls in
// their own child process, write a heap snapshot, and the live objects are compared per poll by
// type and constructor.   node scripts/bench/heap-diff.ts [POLLS]   (default 2000)
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstLine, spawnNode, startServer } from "./children.ts";

const polls = Number(process.argv[2] ?? 2000);
/** parked.ts parks 200 warm-up polls besides POLLS; they are in the snapshot too. */
const parkedInAll = polls + 200;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count of live objects by "type:constructor". */
function tally(path: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(path, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [ti, ni, si] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + ti]!]!;
    const name = type.includes("string") || type === "number" ? "" : snap.strings[snap.nodes[i + ni]!]!.slice(0, 50);
    const key = `${type}:${name}`;
    const t = out.get(key) ?? { size: 0, count: 0 };
    t.size += snap.nodes[i + si]!;
    t.count++;
    out.set(key, t);
  }
  return out;
}

const server = await startServer();
try {
  const results: Record<string, Map<string, { size: number; count: number }>> = {};
  for (const mode of ["httpstream", "undici"]) {
    const file = join(tmpdir(), `pollbridge-heap-${mode}-${process.pid}.heapsnapshot`);
    // parked.ts with a snapshot path: parks the polls, writes the snapshot, prints a line, exits.
    const worker = spawnNode("parked.ts", [mode, server.url, String(polls), file], ["--expose-gc"]);
    await firstLine(worker);
    await new Promise((resolve) => worker.once("exit", resolve));
    results[mode] = tally(file);
    rmSync(file, { force: true });
  }
  const a = results.httpstream!;
  const b = results.undici!;
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows = [...keys].map((k) => ({ k, size: ((a.get(k)?.size ?? 0) - (b.get(k)?.size ?? 0)) / parkedInAll, count: ((a.get(k)?.count ?? 0) - (b.get(k)?.count ?? 0)) / parkedInAll }));
  rows.sort((x, y) => y.size - x.size);
  console.log(`live heap per parked poll, HTTPStream minus raw undici (${parkedInAll} polls): ${rows.reduce((s, r) => s + r.size, 0).toFixed(0)} B`);
  for (const r of rows.slice(0, 25)) console.log(`${r.size.toFixed(1).padStart(8)} B  ${r.count.toFixed(2).padStart(6)}/poll  ${r.k}`);
} finally {
  server.child.kill("SIGTERM");
}
