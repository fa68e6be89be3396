// The saved SmartQQ session: cookie jar + tokens, in the state dir with mode 0600, written atomically.
import { mkdir, open, readFile, rename, chmod } from "node:fs/promises";
import { join } from "node:path";
import { CookieJar } from "tough-cookie";
import { z } from "zod";

export interface WebqqSession {
  ptwebqq: string;
  vfwebqq: string;
  psessionid: string;
  uin: number;
  jar: CookieJar;
}

const SessionFile = z.object({
  version: z.literal(1),
  ptwebqq: z.string(),
  vfwebqq: z.string(),
  psessionid: z.string(),
  uin: z.number().int().nonnegative(),
  cookies: z.unknown(),
});

export function sessionPath(stateDir: string, networkId: string): string {
  return join(stateDir, `webqq-${networkId.replace(/[^\w.-]/g, "_")}.session.json`);
}

export async function saveSession(path: string, s: WebqqSession): Promise<void> {
  const data = {
    version: 1,
    ptwebqq: s.ptwebqq,
    vfwebqq: s.vfwebqq,
    psessionid: s.psessionid,
    uin: s.uin,
    cookies: await s.jar.serialize(),
  };
  await mkdir(join(path, ".."), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  // Created 0600 from the start: the file never exists with wider permissions.
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(JSON.stringify(data));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Loads a saved session. null when there is none; throws with a clear message when it is unreadable. */
export async function loadSession(path: string): Promise<WebqqSession | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  let parsed: z.infer<typeof SessionFile>;
  try {
    parsed = SessionFile.parse(JSON.parse(text));
  } catch (err) {
    throw new Error(`session file ${path} is unreadable (${err instanceof z.ZodError ? "bad shape" : "bad JSON"})`, {
      cause: err,
    });
  }
  const jar = await CookieJar.deserialize(parsed.cookies as string);
  return { ptwebqq: parsed.ptwebqq, vfwebqq: parsed.vfwebqq, psessionid: parsed.psessionid, uin: parsed.uin, jar };
}

/** Moves an unreadable session file aside (kept for inspection, never silently lost). */
export async function setAsideSession(path: string): Promise<string> {
  const aside = `${path}.bad-${Date.now()}`;
  await rename(path, aside);
  return aside;
}
