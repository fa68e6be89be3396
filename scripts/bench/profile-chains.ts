// Profiling harness: HTTPStream chains against the bench server for a few seconds.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof scripts/bench/profile-chains.ts [concurrency] [ms]
import pino from "pino";
import { HTTPStream, type Step } from "../../src/index.ts";
import { startServer } from "./children.ts";

const concurrency = Number(process.argv[2] ?? 16);
const ms = Number(process.argv[3] ?? 3000);
const server = await startServer();
const s = new HTTPStream({ logger: pino({ level: "silent" }), connections: concurrency });
let n = 0;
let stop = false;
setTimeout(() => (stop = true), ms);
const cpu0 = process.cpuUsage();
const chains = Array.from({ length: concurrency }, () => {
  const step: Step = {
    request: { url: server.url + "/fast" },
    readback: async (res) => {
      await res.json();
      n++;
      return stop ? undefined : step;
    },
  };
  return s.add(step.request, step.readback).done;
});
await Promise.all(chains);
const cpu = process.cpuUsage(cpu0);
console.log(`${n} requests, ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU each`);
await s.close();
server.child.kill("SIGTERM");
