// Parked-poll worker, one child process per client so RSS is measured alone:
//   node parked.ts httpstream|undici BASE_URL POLLS [SNAPSHOT_FILE]
// Parks POLLS long polls, measures RSS growth and event-loop delay while parked, then has the
// server answer them all at once and measures the time until every poll is re-armed.
// Prints one JSON line.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { writeHeapSnapshot } from "node:v8";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { Pool } from "undici";
import { HTTPStream, type Step } from "../../src/index.ts";

const [mode, base, pollsArg, snapshotFile] = process.argv.slice(2);
const polls = Number(pollsArg);
/** Polls parked (and cycled) before the baseline: see the warm-up below. */
const WARM = 200;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

interface Client {
  short(path: string): Promise<string>;
  park(onRearm: () => void): void;
}

function httpstreamClient(): Client {
  const s = new HTTPStream({ logger: pino({ level: "silent" }) });
  // One URL string for all polls, as the undici worker shares its literal path: a string built per
  // poll would be 48 bytes of the benchmark's own in HTTPStream's figure.
  const pollUrl = base + "/poll";
  return {
    short: async (path) => (await s.request({ url: base + path })).text(),
    park(onRearm) {
      const step: Step = {
        request: { url: pollUrl, longPoll: true, timeout: 600_000, retry: false },
        readback: async (res) => {
          await res.text();
          onRearm();
          return step;
        },
      };
      s.add(step.request, step.readback);
    },
  };
}

function undiciClient(): Client {
  const shortPool = new Pool(base!, { connections: 16 });
  // Sized to the polls, as undici's docs advise for a poll pool: unbounded, a re-armed poll that
  // races its connection's release opens a second one, and 10,000 re-arms run out of descriptors.
  const pollPool = new Pool(base!, { connections: polls + WARM });
  return {
    short: async (path) => (await shortPool.request({ path, method: "GET" })).body.text(),
    park(onRearm) {
      void (async () => {
        for (;;) {
          const { body } = await pollPool.request({ path: "/poll", method: "GET", headersTimeout: 600_000, bodyTimeout: 600_000 });
          await body.text();
          onRearm();
        }
      })();
    },
  };
}

const client = mode === "httpstream" ? httpstreamClient() : undiciClient();
await client.short("/fast");

let rearmed = 0;
let target = Number.POSITIVE_INFINITY;
let reached: (() => void) | undefined;
const onRearm = (): void => {
  if (++rearmed === target) reached?.();
};
/** Resolves once `count` polls in all have been answered and re-armed. */
const rearmedReach = (count: number): Promise<void> =>
  new Promise<void>((resolve) => {
    target = count;
    reached = resolve;
    if (rearmed >= count) resolve();
  });
const parkedReach = async (count: number): Promise<void> => {
  while (Number(await client.short("/parked")) < count) await sleep(50);
};

// Warm-up: WARM polls parked, released and re-armed a few times, so that one-off costs (the
// long-poll pool, optimised code and the compiler's memory) are paid before the baseline. They
// stay parked and are counted out of the growth.
const WARM_CYCLES = 3;
for (let i = 0; i < WARM; i++) client.park(onRearm);
for (let cycle = 1; cycle <= WARM_CYCLES; cycle++) {
  await parkedReach(WARM);
  const warmRearmed = rearmedReach(WARM * cycle);
  await client.short("/release");
  await warmRearmed;
}
await parkedReach(WARM);
gc();
await sleep(100);
gc();
const memBase = process.memoryUsage();

for (let i = 0; i < polls; i++) client.park(onRearm);
await parkedReach(WARM + polls);
gc();
await sleep(100);
gc();
const memParked = process.memoryUsage();
if (snapshotFile !== undefined) {
  // heap-diff.ts: the live objects while parked, nothing else measured.
  writeHeapSnapshot(snapshotFile);
  console.log(JSON.stringify({ mode, polls, snapshot: snapshotFile }));
  process.exit(0);
}
/** Growth of one process.memoryUsage() figure, in MB per 1,000 polls. */
const perThousand = (key: keyof NodeJS.MemoryUsage): number => (memParked[key] - memBase[key]) / 1048576 / (polls / 1000);

const parkedDelay = monitorEventLoopDelay({ resolution: 1 });
parkedDelay.enable();
await sleep(1000);
parkedDelay.disable();

const releaseDelay = monitorEventLoopDelay({ resolution: 1 });
const done = rearmedReach(WARM * WARM_CYCLES + WARM + polls);
releaseDelay.enable();
const t0 = performance.now();
await client.short("/release");
await done;
const rearmMs = performance.now() - t0;
releaseDelay.disable();

console.log(
  JSON.stringify({
    mode,
    polls,
    rss_mb_per_1k: perThousand("rss"),
    heap_mb_per_1k: perThousand("heapUsed"),
    // What the heap reserved (heapTotal) and what lives outside it: where RSS beyond heapUsed comes from.
    heap_total_mb_per_1k: perThousand("heapTotal"),
    external_mb_per_1k: perThousand("external"),
    loop_delay_p99_parked_ms: parkedDelay.percentile(99) / 1e6,
    loop_delay_p99_release_ms: releaseDelay.percentile(99) / 1e6,
    rearm_ms: rearmMs,
  }),
);
process.exit(0);
