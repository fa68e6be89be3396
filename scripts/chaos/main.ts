// `npm run chaos [-- --n N | --full] [--json] [--seed S] [--rate R]`: the chaos proof (see run.ts).
// Prints a table; with --json, one JSON object as the last line. Exit 0 when the targets hold
// (lost 0 everywhere; dup 0 where the network confirms by echo or history; elsewhere dup at most
// the after-delivery faults on that network), 1 otherwise.
import { parseArgs } from "node:util";
import { formatTable, runChaos, violations } from "./run.ts";

const { values } = parseArgs({
  options: {
    n: { type: "string" },
    full: { type: "boolean", default: false },
    short: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    seed: { type: "string", default: "1" },
    rate: { type: "string", default: "20" },
    "no-faults": { type: "boolean", default: false },
    kills: { type: "string" },
  },
});
const n = values.n ? Number(values.n) : values.full ? 10_000 : values.short ? 200 : 2_000;
if (!Number.isInteger(n) || n <= 0) throw new Error(`--n must be a positive integer: got ${values.n}`);
const short = values.short;
const t0 = performance.now();
const result = await runChaos({
  n,
  rate: Number(values.rate),
  // One kill -9 every ~2,000 messages (all streams together); at least one.
  kills: values.kills !== undefined ? Number(values.kills) : short ? 1 : Math.max(1, Math.round((n * 8) / 2000)),
  sendFaults: !values["no-faults"],
  prosodyRestart: !short,
  stalls: !short,
  pollFaultEvery: 300,
  seed: Number(values.seed),
  // Faults cost each queue seconds (echo windows, backoffs, stalls): the queues drain after the sending.
  settleTimeoutMs: Math.max(300_000, n * 300),
  log: (line) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${line}\n`),
});
process.stdout.write(`${formatTable(result)}\n`);
const bad = violations(result);
process.stdout.write(bad.length ? `targets NOT met:\n  ${bad.join("\n  ")}\n` : "targets met\n");
const gaps = result.crashGap.filter((n) => result.networks[n].to_xmpp.lost > 0);
if (gaps.length) {
  process.stdout.write(`(${gaps.map((n) => `${n} to_xmpp`).join(", ")}: what the network handed out as a kill -9 fell cannot be asked for again (no acknowledgement, no history); the restarted bridge warned of it ${gaps.map((n) => `${result.crashGapWarnings[n]}×`).join(", ")}. README "What no client can close")\n`);
}
if (values.json) {
  const { networks, faults, duration_s } = result;
  process.stdout.write(`${JSON.stringify({ networks, faults, duration_s })}\n`);
}
process.exitCode = bad.length ? 1 : 0;
