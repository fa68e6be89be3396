// Spawning the benchmark's child processes: the loopback server and the parked-poll workers.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

const here = new URL(".", import.meta.url).pathname;

/** Spawns `node script args`, with the soft fd limit raised to the hard one (10,000 parked polls need it). */
export function spawnNode(script: string, args: string[], nodeFlags: string[] = []): ChildProcess {
  return spawn("sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", process.execPath, ...nodeFlags, here + script, ...args], {
    // stdin is a pipe from this process: it closes when we die, however we die (see server.ts).
    stdio: ["pipe", "pipe", "inherit"],
  });
}

/** The first line a child prints (the server's URL, a worker's JSON result). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", (line) => {
      rl.close();
      resolve(line);
    });
    child.once("exit", (code) => reject(new Error(`${child.spawnfile} exited (${code}) before printing`)));
  });
}

export async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnNode("server.ts", []);
  return { url: await firstLine(child), child };
}
