// The saved SmartQQ session: cookie jar + tokens, in the state dir with mode 0600, written atomically.
import { CookieJar } from "tough-cookie";
import { z } from "zod";
import { readJsonFile, stateFilePath, writeFileAtomic } from "../shared/state-file.ts";

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
  return stateFilePath(stateDir, "webqq", networkId, ".session.json");
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
  await writeFileAtomic(path, JSON.stringify(data));
}

/** Loads a saved session. null when there is none; throws with a clear message when it is unreadable. */
export async function loadSession(path: string): Promise<WebqqSession | null> {
  const parsed = await readJsonFile(path, SessionFile, "session");
  if (parsed === null) return null;
  const jar = await CookieJar.deserialize(parsed.cookies as string);
  return { ptwebqq: parsed.ptwebqq, vfwebqq: parsed.vfwebqq, psessionid: parsed.psessionid, uin: parsed.uin, jar };
}
