// HTTPStream benchmark: node scripts/bench/engine.ts [--json] [--full] [--polls N] [--duration MS] [--rounds N]
// Side by side in one run, against a loopback server in a child process:
//   1. chained short requests at concurrency 16 and 64: HTTPStream vs raw undici Pool.request vs fetch
//      (requests/s, and this process's CPU time per request: the honest overhead figure on 2 cores);
//   2. P parked long polls, HTTPStream and raw undici each in its own child process;
//   3. 10,000 delayed steps: scheduling error as seen by the server;
//   4. the seed's own baselines in the same run: Python Tornado AsyncHTTPClient and aiohttp
//      (chained short requests at c16 and c64, RSS per 1,000 parked polls), skipped with a notice
//      where Python lacks them.
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { Pool } from "undici";
import { HTTPStream, type Step } from "../../src/index.ts";
import { firstLine, pythonWith, runPython, spawnNode, startServer } from "./children.ts";
import { cpuMicros, percentile, round } from "./stats.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const full = args.includes("--full");
const valueOf = (flag: string): number | undefined => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : undefined;
};
const POLLS = valueOf("--polls") ?? (full ? 10_000 : 1_000);
const DURATION = valueOf("--duration") ?? (full ? 2_000 : 1_000);
// Many short paired rounds beat few long ones: the median of the per-round ratios then shrugs off
// the rounds a neighbour's load lands on, and the spread of those ratios is the noise reported.
const ROUNDS = valueOf("--rounds") ?? (full ? 9 : 5);
const PARKED_RUNS = 3;
const DELAYED = 10_000;
const DELAY_START = 1_000;
const DELAY_SPREAD = 4_000;
const say = (line: string): void => void (json ? process.stderr : process.stdout).write(line + "\n");

type Kind = "httpstream" | "undici" | "fetch";
interface Run {
  rps: number;
  cpu_us: number;
}

/** Runs `concurrency` request loops for `ms`; returns requests/s and CPU µs per request. */
async function measure(loop: (stop: () => boolean, count: () => void) => Promise<void>, concurrency: number, ms: number): Promise<Run> {
  let n = 0;
  let stopped = false;
  const stop = (): boolean => stopped;
  const count = (): void => void n++;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const timer = setTimeout(() => (stopped = true), ms);
  await Promise.all(Array.from({ length: concurrency }, () => loop(stop, count)));
  clearTimeout(timer);
  const cpu = cpuMicros(cpu0);
  const elapsed = performance.now() - t0;
  return { rps: (n * 1000) / elapsed, cpu_us: cpu / n };
}

async function throughput(base: string, kind: Kind, concurrency: number, ms: number): Promise<Run> {
  if (kind === "httpstream") {
    const s = new HTTPStream({ logger: pino({ level: "silent" }), connections: concurrency });
    const run = (duration: number): Promise<Run> =>
      measure(
        (stop, count) => {
          const step: Step = {
            request: { url: base + "/fast" },
            readback: async (res) => {
              await res.json();
              count();
              return stop() ? undefined : step;
            },
          };
          return s.add(step.request, step.readback).done;
        },
        concurrency,
        duration,
      );
    await run(300); // warm-up: connections, JIT
    const r = await run(ms);
    await s.close();
    return r;
  }
  if (kind === "undici") {
    const pool = new Pool(base, { connections: concurrency });
    const run = (duration: number): Promise<Run> =>
      measure(
        async (stop, count) => {
          while (!stop()) {
            const { body } = await pool.request({ path: "/fast", method: "GET" });
            await body.json();
            count();
          }
        },
        concurrency,
        duration,
      );
    await run(300);
    const r = await run(ms);
    await pool.close();
    return r;
  }
  const run = (duration: number): Promise<Run> =>
    measure(
      async (stop, count) => {
        while (!stop()) {
          const res = await fetch(base + "/fast");
          await res.json();
          count();
        }
      },
      concurrency,
      duration,
    );
  await run(300);
  return run(ms);
}

interface Comparison extends Record<Kind, Run> {
  /** Medians of the per-round ratios HTTPStream / undici: each round's pair ran under the same load. */
  rpsRatio: number;
  cpuRatio: number;
  /** Lowest and highest per-round ratio: the run's noise. */
  rpsRange: [number, number];
  cpuRange: [number, number];
}

const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);
const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];

/**
 * HTTPStream and undici alternate for ROUNDS rounds (the order flips each round, so drift and
 * neighbours' load hit both alike); each figure is the median of its runs, and the ratios are the
 * medians of the rounds' own ratios. fetch runs once.
 */
async function compare(base: string, concurrency: number): Promise<Comparison> {
  const runs: Record<"httpstream" | "undici", Run[]> = { httpstream: [], undici: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (["httpstream", "undici"] as const) : (["undici", "httpstream"] as const);
    for (const kind of order) {
      const r = await throughput(base, kind, concurrency, DURATION);
      if (process.env.BENCH_VERBOSE) say(`  round ${round} c${concurrency} ${kind}: ${r.rps.toFixed(0)} req/s, ${r.cpu_us.toFixed(1)} µs`);
      runs[kind].push(r);
    }
  }
  const rpsRatios = runs.httpstream.map((h, i) => h.rps / runs.undici[i]!.rps);
  const cpuRatios = runs.httpstream.map((h, i) => h.cpu_us / runs.undici[i]!.cpu_us);
  const summary = (list: Run[]): Run => ({ rps: median(list.map((r) => r.rps)), cpu_us: median(list.map((r) => r.cpu_us)) });
  return {
    httpstream: summary(runs.httpstream),
    undici: summary(runs.undici),
    fetch: await throughput(base, "fetch", concurrency, DURATION),
    rpsRatio: median(rpsRatios),
    cpuRatio: median(cpuRatios),
    rpsRange: range(rpsRatios),
    cpuRange: range(cpuRatios),
  };
}

interface ParkedResult {
  rss_mb_per_1k: number;
  heap_mb_per_1k: number;
  heap_total_mb_per_1k: number;
  loop_delay_p99_parked_ms: number;
  loop_delay_p99_release_ms: number;
  rearm_ms: number;
}

function medianParked(list: ParkedResult[]): ParkedResult {
  return {
    rss_mb_per_1k: median(list.map((p) => p.rss_mb_per_1k)),
    heap_mb_per_1k: median(list.map((p) => p.heap_mb_per_1k)),
    heap_total_mb_per_1k: median(list.map((p) => p.heap_total_mb_per_1k)),
    loop_delay_p99_parked_ms: median(list.map((p) => p.loop_delay_p99_parked_ms)),
    loop_delay_p99_release_ms: median(list.map((p) => p.loop_delay_p99_release_ms)),
    rearm_ms: median(list.map((p) => p.rearm_ms)),
  };
}

async function parked(base: string, mode: "httpstream" | "undici"): Promise<ParkedResult> {
  // Both workers get the same fixed young generation: V8 otherwise grows it (up to 2×16 MB) by
  // allocation rate, and that one-off step lands in "RSS growth" at random, swamping 1,000 polls.
  const child = spawnNode("parked.ts", [mode, base, String(POLLS)], ["--expose-gc", "--min-semi-space-size=16", "--max-semi-space-size=16"]);
  const line = await firstLine(child);
  await new Promise((resolve) => child.once("exit", resolve));
  await sleep(200); // let the server drop the dead sockets before the next worker
  return JSON.parse(line) as ParkedResult;
}

async function delayed(base: string): Promise<{ err_p50_ms: number; err_p99_ms: number }> {
  const s = new HTTPStream({ logger: pino({ level: "silent" }) });
  await (await s.request({ url: base + "/fast" })).text(); // connections and JIT warm
  const chains = [];
  for (let i = 0; i < DELAYED; i++) {
    // The first due time leaves room for this loop itself (10,000 add() calls block the loop a while).
    const delay = DELAY_START + (i * DELAY_SPREAD) / DELAYED;
    // Due time = when add() was called + the delay; the server compares its arrival time with it.
    const due = performance.timeOrigin + performance.now() + delay;
    chains.push(s.add({ url: `${base}/delay`, query: { due } }, undefined, { delay }));
  }
  await Promise.all(chains.map((c) => c.done));
  const errors = (JSON.parse(await (await s.request({ url: base + "/delay-stats" })).text()) as number[]).sort((a, b) => a - b);
  await s.close();
  return { err_p50_ms: percentile(errors, 50), err_p99_ms: percentile(errors, 99) };
}

type PythonLib = "tornado" | "aiohttp";
const PYTHON_LIBS: PythonLib[] = ["tornado", "aiohttp"];
const pythons = new Map<PythonLib, string>();
for (const lib of PYTHON_LIBS) {
  const python = pythonWith(lib);
  if (python === undefined) say(`${lib}: skipped (no python3 here can import it; Debian: apt-get install python3-${lib})`);
  else pythons.set(lib, python);
}

/** A Python baseline's figure, or null where it is skipped or failed (said on its own line). */
async function pythonFigure(lib: PythonLib, args: string[], key: string): Promise<number | null> {
  const python = pythons.get(lib);
  if (python === undefined) return null;
  try {
    return (await runPython(python, [args[0]!, lib, ...args.slice(1)]))[key] ?? null;
  } catch (err) {
    say(`${lib}: ${(err as Error).message}`);
    return null;
  }
}

const server = await startServer();
const base = server.url;
try {
  const result: Record<string, unknown> = {};
  say(`HTTPStream benchmark against ${base}: ${ROUNDS} rounds of ${DURATION} ms per client (medians), ${POLLS} parked polls`);
  say("");
  // Warm the server's and this process's JIT first: early rounds would otherwise favour whoever runs later.
  for (const kind of ["httpstream", "undici", "fetch"] as const) await throughput(base, kind, 16, 1000);
  say("concurrency  client       req/s    CPU µs/req");
  for (const c of [16, 64]) {
    const r = await compare(base, c);
    for (const kind of ["httpstream", "undici", "fetch"] as const) {
      say(`${String(c).padEnd(11)}  ${kind.padEnd(10)} ${r[kind].rps.toFixed(0).padStart(7)}  ${r[kind].cpu_us.toFixed(1).padStart(10)}`);
    }
    say(
      `${"".padEnd(11)}  ratios (median of paired rounds): rps ${r.rpsRatio.toFixed(2)}× undici, CPU ${r.cpuRatio.toFixed(2)}× undici; ` +
        `vs fetch: rps ${(r.httpstream.rps / r.fetch.rps).toFixed(2)}×, CPU ${(r.httpstream.cpu_us / r.fetch.cpu_us).toFixed(2)}×`,
    );
    say(`${"".padEnd(11)}  noise: per-round rps ratios ${r.rpsRange[0].toFixed(2)}–${r.rpsRange[1].toFixed(2)}, CPU ratios ${r.cpuRange[0].toFixed(2)}–${r.cpuRange[1].toFixed(2)} (${ROUNDS} rounds)`);
    const py: Record<PythonLib, number | null> = { tornado: null, aiohttp: null };
    for (const lib of PYTHON_LIBS) {
      py[lib] = await pythonFigure(lib, ["rps", base, String(c), String(DURATION)], "rps");
      if (py[lib] !== null) say(`${String(c).padEnd(11)}  ${lib.padEnd(10)} ${py[lib]!.toFixed(0).padStart(7)}  (one run; HTTPStream makes ${(r.httpstream.rps / py[lib]!).toFixed(1)}× its requests/s)`);
    }
    result[`c${c}`] = {
      httpstream_rps: round(r.httpstream.rps, 0),
      undici_rps: round(r.undici.rps, 0),
      fetch_rps: round(r.fetch.rps, 0),
      httpstream_cpu_us: round(r.httpstream.cpu_us, 1),
      undici_cpu_us: round(r.undici.cpu_us, 1),
      fetch_cpu_us: round(r.fetch.cpu_us, 1),
      rps_ratio: round(r.rpsRatio, 3),
      cpu_ratio: round(r.cpuRatio, 3),
      rps_ratio_range: r.rpsRange.map((v) => round(v, 3)),
      cpu_ratio_range: r.cpuRange.map((v) => round(v, 3)),
      rounds: ROUNDS,
      tornado_rps: py.tornado === null ? null : round(py.tornado, 0),
      aiohttp_rps: py.aiohttp === null ? null : round(py.aiohttp, 0),
    };
  }
  // RSS at this scale moves by whole malloc/heap chunks: alternate the workers and keep medians.
  const samples: Record<"httpstream" | "undici", ParkedResult[]> = { httpstream: [], undici: [] };
  for (let i = 0; i < PARKED_RUNS; i++) {
    const order = i % 2 === 0 ? (["httpstream", "undici"] as const) : (["undici", "httpstream"] as const);
    for (const mode of order) samples[mode].push(await parked(base, mode));
  }
  const pyParked: Record<PythonLib, number | null> = { tornado: null, aiohttp: null };
  for (const lib of PYTHON_LIBS) {
    pyParked[lib] = await pythonFigure(lib, ["parked", base, String(POLLS)], "rss_mb_per_1k");
    await sleep(200); // let the server drop the dead sockets before the next worker
  }
  const rssRatios = samples.httpstream.map((h, i) => h.rss_mb_per_1k / samples.undici[i]!.rss_mb_per_1k);
  const heapRatios = samples.httpstream.map((h, i) => h.heap_mb_per_1k / samples.undici[i]!.heap_mb_per_1k);
  const hp = medianParked(samples.httpstream);
  const up = medianParked(samples.undici);
  say("");
  say(`parked polls: ${POLLS}${PARKED_RUNS > 1 ? ` (medians of ${PARKED_RUNS} workers each)` : ""}`);
  say(`                         RSS MB/1k  heap MB/1k (reserved)   loop p99 parked   loop p99 release   re-armed after`);
  for (const [name, p] of [["httpstream", hp], ["undici", up]] as const) {
    say(`  ${name.padEnd(10)}         ${p.rss_mb_per_1k.toFixed(2).padStart(8)}  ${p.heap_mb_per_1k.toFixed(2).padStart(10)} (${p.heap_total_mb_per_1k.toFixed(2).padStart(6)})   ${p.loop_delay_p99_parked_ms.toFixed(2).padStart(12)} ms   ${p.loop_delay_p99_release_ms.toFixed(2).padStart(13)} ms   ${p.rearm_ms.toFixed(0).padStart(8)} ms`);
  }
  for (const lib of PYTHON_LIBS) {
    if (pyParked[lib] !== null) say(`  ${lib.padEnd(10)}         ${pyParked[lib]!.toFixed(2).padStart(8)}  (RSS only; one worker)`);
  }
  say(
    `  ratios (median of ${PARKED_RUNS} paired workers): RSS ${median(rssRatios).toFixed(2)}× undici (${range(rssRatios).map((v) => v.toFixed(2)).join("–")}), ` +
      `heap ${median(heapRatios).toFixed(2)}× (${range(heapRatios).map((v) => v.toFixed(2)).join("–")})`,
  );
  result.parked = {
    rss_ratio: round(median(rssRatios), 3),
    rss_ratio_range: range(rssRatios).map((v) => round(v, 3)),
    heap_ratio: round(median(heapRatios), 3),
    polls: POLLS,
    rss_mb_per_1k: round(hp.rss_mb_per_1k),
    undici_rss_mb_per_1k: round(up.rss_mb_per_1k),
    heap_mb_per_1k: round(hp.heap_mb_per_1k),
    undici_heap_mb_per_1k: round(up.heap_mb_per_1k),
    heap_total_mb_per_1k: round(hp.heap_total_mb_per_1k),
    undici_heap_total_mb_per_1k: round(up.heap_total_mb_per_1k),
    // While parked: the target's figure. The mass release is reported apart (one burst of P responses).
    loop_delay_p99_ms: round(hp.loop_delay_p99_parked_ms),
    loop_delay_p99_parked_ms: round(hp.loop_delay_p99_parked_ms),
    loop_delay_p99_release_ms: round(hp.loop_delay_p99_release_ms),
    rearm_ms: round(hp.rearm_ms, 0),
    undici_rearm_ms: round(up.rearm_ms, 0),
    tornado_rss_mb_per_1k: pyParked.tornado === null ? null : round(pyParked.tornado),
    aiohttp_rss_mb_per_1k: pyParked.aiohttp === null ? null : round(pyParked.aiohttp),
  };
  const d = await delayed(base);
  say("");
  say(`${DELAYED} delayed steps (spread over ${DELAY_SPREAD} ms): scheduling error p50 ${d.err_p50_ms.toFixed(2)} ms, p99 ${d.err_p99_ms.toFixed(2)} ms`);
  result.delay = { err_p50_ms: round(d.err_p50_ms), err_p99_ms: round(d.err_p99_ms) };
  if (json) console.log(JSON.stringify(result));
} finally {
  server.child.kill("SIGTERM");
}
