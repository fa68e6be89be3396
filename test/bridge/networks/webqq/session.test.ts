import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CookieJar } from "tough-cookie";
import { loadSession, saveSession, sessionPath } from "../../../../bridge/networks/webqq/session.ts";
import { setAside } from "../../../../bridge/networks/shared/state-file.ts";

test("a saved session round-trips with its cookies, mode 0600", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "webqq-session-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const jar = new CookieJar();
  await jar.setCookie("p_skey=secret-skey; Path=/", "http://127.0.0.1:8080/check_sig");
  const path = sessionPath(join(dir, "state"), "qq/1");
  assert.equal(path, join(dir, "state", "webqq-qq_1.session.json"));
  await saveSession(path, { ptwebqq: "pt", vfwebqq: "vf", psessionid: "ps", uin: 42, jar });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const back = await loadSession(path);
  assert.ok(back);
  assert.deepEqual({ ...back, jar: undefined }, { ptwebqq: "pt", vfwebqq: "vf", psessionid: "ps", uin: 42, jar: undefined });
  assert.equal(await back.jar.getCookieString("http://127.0.0.1:8080/x"), "p_skey=secret-skey");
});

test("no file → null; a bad file → clear error, and it can be set aside intact", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "webqq-session-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "s.json");
  assert.equal(await loadSession(path), null);
  await writeFile(path, "{not json");
  await assert.rejects(loadSession(path), /session file .* is unreadable \(bad JSON\)/);
  await writeFile(path, JSON.stringify({ version: 1, ptwebqq: 3 }));
  await assert.rejects(loadSession(path), /unreadable \(bad shape\)/);
  const aside = await setAside(path);
  assert.equal(await readFile(aside, "utf8"), JSON.stringify({ version: 1, ptwebqq: 3 }));
  assert.equal(await loadSession(path), null);
});
