import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile, removeFile, setAside, stateFilePath, UnreadableFileError, writeFileAtomic } from "../../../../bridge/networks/shared/state-file.ts";

const Shape = z.object({ version: z.literal(1), n: z.number() });

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "state-file-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("stateFilePath makes the network id file-name safe", () => {
  assert.equal(stateFilePath("/s", "onebot11", "ob/1 x", ".pending.json"), join("/s", "onebot11-ob_1_x.pending.json"));
});

test("writeFileAtomic creates missing dirs, writes mode 0600 (also over a stale wider tmp), leaves no tmp file", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "a", "b", "f.json");
  await writeFileAtomic(path, JSON.stringify({ version: 1, n: 1 }));
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const stale = `${path}.${process.pid}.tmp`;
  await writeFile(stale, "old");
  await chmod(stale, 0o644);
  await writeFileAtomic(path, JSON.stringify({ version: 1, n: 2 }));
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readJsonFile(path, Shape, "test"), { version: 1, n: 2 });
  assert.deepEqual(await readdir(join(dir, "a", "b")), ["f.json"]);
});

test("readJsonFile: null when absent; bad JSON and bad shape are UnreadableFileErrors naming the file", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "f.json");
  assert.equal(await readJsonFile(path, Shape, "test"), null);
  await writeFile(path, "{not json");
  await assert.rejects(readJsonFile(path, Shape, "offset"), (err: unknown) => err instanceof UnreadableFileError && err.message === `offset file ${path} is unreadable (bad JSON)`);
  await writeFile(path, JSON.stringify({ version: 2, n: 1 }));
  await assert.rejects(readJsonFile(path, Shape, "offset"), (err: unknown) => err instanceof UnreadableFileError && /unreadable \(bad shape\)/.test(err.message));
});

test("an I/O error is not mistaken for bad content", async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(readJsonFile(dir, Shape, "test"), (err: unknown) => !(err instanceof UnreadableFileError) && (err as NodeJS.ErrnoException).code === "EISDIR");
});

test("setAside keeps the content under a new name; removeFile is fine with no file", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "f.json");
  await writeFile(path, "{broken");
  const aside = await setAside(path);
  assert.match(aside, /f\.json\.bad-\d+$/);
  assert.equal(await readFile(aside, "utf8"), "{broken");
  assert.equal(await readJsonFile(path, Shape, "test"), null);
  await removeFile(path);
  await writeFileAtomic(path, "{}");
  await removeFile(path);
  assert.deepEqual(await readdir(dir), [aside.slice(dir.length + 1)]);
});
