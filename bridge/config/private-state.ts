// state_dir holds the outbox (days of chat text), saved sessions and the WebQQ QR code: only the
// bridge's user may read it. Everything the process creates is private (umask 077: dirs 0700,
// files 0600, SQLite's -wal/-shm included, whatever umask the process inherited), state_dir is
// created 0700, and what already exists with wider modes is reported (not changed: the operator
// may have reasons, e.g. a group that backs it up), with the chmod that fixes it.
import { chmod, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ConfigProblem } from "./problems.ts";

/** From now on this process creates directories 0700 and files 0600. */
export function createPrivately(): void {
  process.umask(0o077);
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, "0");

/** Creates state_dir (0700, parents too) when missing. */
export async function createStateDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first !== undefined) await chmod(dir, 0o700); // mkdir's mode passes through the umask
}

/** Warnings for state_dir and the files under it (two levels) that group or others can reach. */
export async function stateModeWarnings(dir: string): Promise<ConfigProblem[]> {
  const wide: string[] = [];
  let dirMode: number;
  try {
    dirMode = (await stat(dir)).mode;
  } catch {
    return []; // missing: created private; unusable: check and run say so elsewhere
  }
  const out: ConfigProblem[] = [];
  if (dirMode & 0o077) {
    out.push({ path: "state_dir", message: `${dir} has mode ${octal(dirMode)}: other users can reach the stored chat and sessions (chmod 700 ${dir})` });
  }
  const walk = async (at: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(at, e.name);
      if (e.isDirectory()) {
        const m = (await stat(path).catch(() => undefined))?.mode;
        if (m !== undefined && m & 0o077) wide.push(`${path} (${octal(m)})`);
        if (depth < 2) await walk(path, depth + 1);
      } else if (e.isFile()) {
        const m = (await stat(path).catch(() => undefined))?.mode;
        if (m !== undefined && m & 0o077) wide.push(`${path} (${octal(m)})`);
      }
    }
  };
  await walk(dir, 1);
  if (wide.length > 0) {
    const shown = wide.slice(0, 5).join(", ") + (wide.length > 5 ? ` and ${wide.length - 5} more` : "");
    out.push({ path: "state_dir", message: `readable by other users: ${shown} (chmod -R go= ${dir})` });
  }
  return out;
}
