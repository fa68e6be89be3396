// state_dir/pollbridge.pid: the running bridge's process id, for `pollbridge reload` to signal
// it, removed when the run ends, however it ends short of the process being killed. Found at
// start with the id of a process that is gone, it says the last run was killed (-9), crashed or
// lost its power: run() then logs what some networks' inbound cannot make good (NetworkAdapter
// .crashGap), so that such a loss is never silent.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const PID_FILE = "pollbridge.pid";

export interface PidFile {
  readonly path: string;
  /** The file was there, naming a process that is gone: the last run did not end. */
  readonly unclean: boolean;
  /** The run ends: removes the file if it is still ours (a newer process may have written its own). */
  release(): Promise<void>;
}

export async function claimPidFile(stateDir: string): Promise<PidFile> {
  const path = join(stateDir, PID_FILE);
  const before = Number((await readFile(path, "utf8").catch(() => "")).trim());
  const unclean = Number.isInteger(before) && before > 0 && before !== process.pid && !alive(before);
  await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
  return {
    path,
    unclean,
    async release() {
      const pid = await readFile(path, "utf8").catch(() => "");
      if (pid.trim() === String(process.pid)) await rm(path, { force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // there, but not ours to signal
  }
}
