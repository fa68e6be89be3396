// Running a simulator as its own process: its base URL (and any further lines) on stdout, each
// violation on stderr, a clean exit on SIGINT/SIGTERM.
import type { EventEmitter } from "node:events";

export function serveStandalone(sim: { url: string; state: EventEmitter; close(): Promise<void> }, moreLines: string[] = []): void {
  process.stdout.write(`${sim.url}\n`);
  for (const line of moreLines) process.stdout.write(`${line}\n`);
  sim.state.on("violation", (reason: string) => process.stderr.write(`violation: ${reason}\n`));
  const stop = (): void => void sim.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
