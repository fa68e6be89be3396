// runReloadable in-process, with a stand-in for run(): which reloads are applied, which refused.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger } from "../../../bridge/log.ts";
import { loadConfig } from "../../../bridge/config/load.ts";
import type { Config } from "../../../bridge/config/types.ts";
import { runReloadable, type HangupSource } from "../../../bridge/cli/reload.ts";

const yaml = (state: string, format: string) =>
  [`state_dir: ${state}`, `xmpp: { jid: bridge@example.org, password: "\${PW}" }`, `networks: { qq: { type: webqq } }`, `bridges:`, `  - xmpp: dev@conference.example.org`, `    qq: Dev`, `    format: "${format}"`, ``].join("\n");

test("runReloadable: a good file starts a new session with it; a file that moves state_dir or has problems is refused; the pid file comes and goes", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-reload-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "pollbridge.yaml");
  await writeFile(file, yaml("./state", "A {text}"), { mode: 0o600 });
  const env = { PW: "secret-pw" };
  const first = (await loadConfig(file, env)).config;
  await import("node:fs/promises").then((fs) => fs.mkdir(first.state_dir, { recursive: true }));

  let log = "";
  const logger = createLogger({ level: "info", format: "json", destination: new Writable({ write: (c, _e, cb) => ((log += c.toString()), cb()) }) });
  const hangups = new EventEmitter() as EventEmitter & HangupSource;
  const outer = new AbortController();
  const sessions: Config[] = [];
  const started: (() => void)[] = [];
  const nextSession = () => new Promise<void>((r) => started.push(r));
  const logged = (re: RegExp) =>
    new Promise<void>((resolve) => {
      const tick = () => (re.test(log) ? resolve() : setImmediate(tick)); // the log is written synchronously; this only yields
      tick();
    });

  let session = nextSession();
  const done = runReloadable({
    file, env, config: first, logger, signal: outer.signal, hangups,
    makeLogger: () => logger,
    run: async (config, opts) => {
      sessions.push(config);
      started.shift()?.();
      await new Promise((r) => opts.signal.addEventListener("abort", r, { once: true }));
      return 0;
    },
  });
  await session;
  assert.equal((await readFile(join(first.state_dir, "pollbridge.pid"), "utf8")).trim(), String(process.pid));

  await writeFile(file, yaml("./elsewhere", "B {text}"));
  hangups.emit("SIGHUP");
  await logged(/reload refused: state_dir changed/);

  await writeFile(file, yaml("./state", "C {text}") + "colour: red\n");
  hangups.emit("SIGHUP");
  await logged(/reload refused: colour: unknown key/);
  assert.equal(sessions.length, 1, "refused reloads leave the running session alone");

  session = nextSession();
  await writeFile(file, yaml("./state", "D {text}"));
  hangups.emit("SIGHUP");
  await session;
  assert.equal(sessions.length, 2);
  assert.equal(sessions[1]!.bridges[0]!.format, "D {text}");
  assert.doesNotMatch(log, /secret-pw/);

  outer.abort();
  assert.equal(await done, 0);
  assert.equal(sessions.length, 2, "a stop is not a reload");
  assert.equal(hangups.listenerCount("SIGHUP"), 0);
  await assert.rejects(readFile(join(first.state_dir, "pollbridge.pid")), { code: "ENOENT" });
});
