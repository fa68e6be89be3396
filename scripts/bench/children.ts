// Spawning the benchmark's child processes: the loopback server and the parked-poll workers.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
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

const pythonScript = here + "python-baseline.py";

/** A python3 that can import `lib` (Debian's python3-tornado / python3-aiohttp first), or undefined. */
export function pythonWith(lib: "tornado" | "aiohttp"): string | undefined {
  const module = lib === "tornado" ? "tornado.httpclient" : "aiohttp";
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(python, ["-c", `import ${module}`], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  return undefined;
}

/** Runs the Python baseline and returns its JSON line; its stderr is shown only when it fails. */
export function runPython(python: string, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", python, pythonScript, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as Record<string, number>);
      else reject(new Error(`python baseline ${args.slice(0, 2).join(" ")} exited ${code}: ${err.trim().split("\n").slice(-1)[0] ?? ""}`));
    });
  });
}
