// The pid file says whether the last run ended: a file naming a process that is gone is a run
// that was killed (or crashed); one naming a live process is not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimPidFile, PID_FILE } from "../../../bridge/cli/pid-file.ts";

test("claimPidFile: unclean only when the file names a process that is gone; release removes only our own", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-pid-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, PID_FILE);

  const first = await claimPidFile(dir);
  assert.equal(first.unclean, false, "no file: a first run, or one after a run that ended");
  assert.equal((await readFile(path, "utf8")).trim(), String(process.pid));
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  await first.release();
  await assert.rejects(stat(path), { code: "ENOENT" });

  const gone = spawnSync(process.execPath, ["-e", ""]).pid; // exited by now
  await writeFile(path, `${gone}\n`);
  assert.equal((await claimPidFile(dir)).unclean, true, "the last run was killed");

  await writeFile(path, `${process.ppid}\n`); // a live process
  const next = await claimPidFile(dir);
  assert.equal(next.unclean, false);
  await writeFile(path, "999999999\n"); // a newer process wrote its own meanwhile
  await next.release();
  assert.equal((await readFile(path, "utf8")).trim(), "999999999", "not ours: left alone");
});
