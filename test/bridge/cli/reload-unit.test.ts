// runReloadable in-process, with a stand-in for run(): which reloads are applied, which refused.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger } from "../../../bridge/log.ts";
import { loadConfig, parseConfig } from "../../../bridge/config/load.ts";
import type { Config } from "../../../bridge/config/types.ts";
import { runReloadable, type HangupSource } from "../../../bridge/cli/reload.ts";
import { diffConfig, type ConfigChange } from "../../../bridge/cli/config-diff.ts";

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

test("runReloadable: a session that can apply live gets the new config and what changed; keys it cannot take restart it; a new secret is scrubbed at once", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-reload-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "pollbridge.yaml");
  const withToken = (format: string, extra = "") =>
    yaml("./state", format).replace("networks: { qq: { type: webqq } }", `networks: { qq: { type: webqq }, tg: { type: telegram, token: "\${TG}" } }`) +
    `  - xmpp: ops@conference.example.org\n    tg: "-100"\n` + extra;
  await writeFile(file, yaml("./state", "A {text}"), { mode: 0o600 });
  const env = { PW: "secret-pw", TG: "123456:tg-token-of-the-new-file" };
  const first = (await loadConfig(file, env)).config;
  await import("node:fs/promises").then((fs) => fs.mkdir(first.state_dir, { recursive: true }));

  let log = "";
  const logger = createLogger({ level: "info", format: "json", destination: new Writable({ write: (c, _e, cb) => ((log += c.toString()), cb()) }), secrets: ["secret-pw"] });
  const hangups = new EventEmitter() as EventEmitter & HangupSource;
  const outer = new AbortController();
  const sessions: Config[] = [];
  const applied: { config: Config; change: ConfigChange }[] = [];
  const logged = (re: RegExp) =>
    new Promise<void>((resolve) => {
      const tick = () => (re.test(log) ? resolve() : setImmediate(tick)); // the log is written synchronously; this only yields
      tick();
    });
  let started!: () => void;
  let session = new Promise<void>((r) => (started = r));
  const done = runReloadable({
    file, env, config: first, logger, signal: outer.signal, hangups,
    makeLogger: () => logger,
    run: async (config, opts) => {
      sessions.push(config);
      opts.onApply?.(async (next, change) => {
        applied.push({ config: next, change });
        logger.info(`applying; the new token is ${env.TG}`); // what a part might log
      });
      started();
      await new Promise((r) => opts.signal.addEventListener("abort", r, { once: true }));
      return 0;
    },
  });
  await session;

  // A new bridge on a new network, and a new format: applied live, same session.
  await writeFile(file, withToken("B {text}"));
  hangups.emit("SIGHUP");
  await logged(/config reloaded: bridges applied live; networks started: tg/);
  assert.equal(sessions.length, 1);
  assert.equal(applied.length, 1);
  assert.deepEqual(applied[0]!.change, { restart: [], xmpp: false, networks: [], networksAdded: ["tg"], networksRemoved: [], bridges: true, rate: false, metrics: false });
  assert.equal(applied[0]!.config.bridges[0]!.format, "B {text}");
  assert.doesNotMatch(log, /tg-token-of-the-new-file/, "the new file's token is scrubbed from the first line");

  // The log level cannot change live: the session restarts with the new config.
  session = new Promise<void>((r) => (started = r));
  await writeFile(file, withToken("B {text}", "log: { level: warn }\n"));
  hangups.emit("SIGHUP");
  await session;
  assert.equal(sessions.length, 2);
  assert.equal(applied.length, 1);
  assert.match(log, /reload: log cannot change while running/);

  outer.abort();
  assert.equal(await done, 0);
});

test("diffConfig: each key lands where it is applied", async () => {
  const base = parseConfig(
    [
      "state_dir: ./state",
      'xmpp: { jid: bridge@example.org, password: pw }',
      "networks: { qq: { type: webqq }, tg: { type: telegram, token: t } }",
      "bridges:",
      "  - xmpp: dev@conference.example.org",
      "    qq: Dev",
      "  - xmpp: ops@conference.example.org",
      "    tg: '-100'",
      "",
    ].join("\n"),
    { path: "/etc/pollbridge/pollbridge.yaml", env: {} },
  ).config!;
  const change = (f: (c: Config) => void) => {
    const next = structuredClone(base);
    f(next);
    return diffConfig(base, next);
  };
  const none = { restart: [], xmpp: false, networks: [], networksAdded: [], networksRemoved: [], bridges: false, rate: false, metrics: false };
  assert.deepEqual(change(() => undefined), none);
  assert.deepEqual(change((c) => (c.bridges[0]!.format = "{text}")), { ...none, bridges: true });
  assert.deepEqual(change((c) => (c.relay = { ...c.relay, rate: { per_second: 1, burst: 1 } })), { ...none, rate: true });
  assert.deepEqual(change((c) => (c.networks.qq = { type: "webqq", send_interval: 900 })), { ...none, networks: ["qq"] });
  assert.deepEqual(change((c) => (c.xmpp.nick = "other")), { ...none, xmpp: true });
  assert.deepEqual(change((c) => c.bridges.pop()), { ...none, bridges: true, networksRemoved: ["tg"] });
  // A network no bridge uses changes nothing that runs.
  assert.deepEqual(change((c) => (c.networks.unused = { type: "telegram", token: "x" })), none);
  assert.deepEqual(change((c) => (c.log.level = "debug")).restart, ["log"]);
  assert.deepEqual(change((c) => (c.relay = { ...c.relay, drain_timeout: 1 })), none, "read at the next stop");
  assert.deepEqual(change((c) => (c.relay = { ...c.relay, dead_letter_after: 1 })).restart, ["relay.dead_letter_after"]);
  assert.deepEqual(change((c) => (c.metrics = { listen: "127.0.0.1:9464" })).restart, ["metrics"], "metrics turned on");
  const withMetrics = structuredClone(base);
  withMetrics.metrics = { listen: "127.0.0.1:9464" };
  const moved = structuredClone(withMetrics);
  moved.metrics = { listen: "127.0.0.1:9465", auth: { user: "ops", password: "pw" } };
  assert.deepEqual(diffConfig(withMetrics, moved), { ...none, metrics: true }, "only the metrics server restarts");
});
