// Small JSON files a network keeps in the state dir (saved sessions, offsets, undelivered events):
// written atomically with mode 0600, read back strictly, and set aside (never deleted) when unreadable.
import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";

/** Thrown when a state file exists but its content is not what it should be (I/O errors pass through as they are). */
export class UnreadableFileError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = "UnreadableFileError";
  }
}

/** `<stateDir>/<type>-<network id, made file-name safe><suffix>`, e.g. `webqq-qq.session.json`. */
export function stateFilePath(stateDir: string, type: string, networkId: string, suffix: string): string {
  return join(stateDir, `${type}-${networkId.replace(/[^\w.-]/g, "_")}${suffix}`);
}

/** Replaces `path` with `text`: a crash leaves the old or the new file, never a part; never readable by others. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  // Created 0600 from the start; fsync before the rename.
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600); // an earlier tmp left by a crash keeps its old mode on open
  await rename(tmp, path);
}

/** Removes `path`; a file that is not there is fine. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * The file parsed by `schema`; null when there is no file. Content that is not JSON or not of the
 * schema's shape throws an UnreadableFileError naming the file (`<what> file <path> is unreadable (bad JSON)`).
 */
export async function readJsonFile<S extends z.ZodType>(path: string, schema: S, what: string): Promise<z.infer<S> | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    return schema.parse(JSON.parse(text));
  } catch (err) {
    throw new UnreadableFileError(`${what} file ${path} is unreadable (${err instanceof z.ZodError ? "bad shape" : "bad JSON"})`, err);
  }
}

/** Moves an unreadable file aside, kept for inspection; resolves with its new path. */
export async function setAside(path: string): Promise<string> {
  const aside = `${path}.bad-${Date.now()}`;
  await rename(path, aside);
  return aside;
}
