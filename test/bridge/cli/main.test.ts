// main() in-process: help, version, usage errors, and config problems before any command runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main, type CliIo } from "../../../bridge/cli/main.ts";

function io(): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    out: () => out,
    err: () => err,
  };
}

test("--help lists commands, options, exit codes and POLLBRIDGE_CONFIG, exit 0", async () => {
  const t = io();
  assert.equal(await main(["--help"], {}, t), 0);
  for (const word of ["run", "check", "login NETWORK", "demo", "-c, --config FILE", "--version", "POLLBRIDGE_CONFIG", "Exit codes", "0 ", "1 ", "2 "]) {
    assert.ok(t.out().includes(word), `help lacks ${word}`);
  }
});

test("--version prints package.json's version", async () => {
  const t = io();
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  assert.equal(await main(["--version"], {}, t), 0);
  assert.equal(t.out(), `pollbridge ${pkg.version}\n`);
});

test("bad usage exits 1 with one line and a pointer to --help", async () => {
  for (const argv of [[], ["frobnicate"], ["check", "--bogus"], ["login"]]) {
    const t = io();
    assert.equal(await main(argv, {}, t), 1, JSON.stringify(argv));
    assert.match(t.err(), /^pollbridge: .+\nTry "pollbridge --help"\.\n$/);
  }
});

test("run and login refuse a bad config with exit 1 and its problems; login needs a webqq network", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pb-main-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "pollbridge.yaml");
  const text = `
state_dir: ./state
xmpp: { jid: bridge@example.org, password: "\${XMPP_PASSWORD}" }
networks:
  qq: { type: webqq }
  tg: { type: telegram, token: "\${TG_TOKEN}" }
bridges:
  - { xmpp: dev@conference.example.org, qq: "Dev Group", tg: 42 }
`;
  writeFileSync(file, text, { mode: 0o600 });

  const bad = io();
  assert.equal(await main(["run", "-c", file], { TG_TOKEN: "t" }, bad), 1);
  assert.match(bad.err(), /^xmpp\.password: environment variable XMPP_PASSWORD is not set$/m);

  const env = { XMPP_PASSWORD: "pw", TG_TOKEN: "123:tok" };
  const unknown = io();
  assert.equal(await main(["login", "nope", "-c", file], env, unknown), 1);
  assert.equal(unknown.err(), `login: no network "nope" in ${file} (networks: qq, tg)\n`);

  const notWebqq = io();
  assert.equal(await main(["login", "tg", "-c", file], env, notWebqq), 1);
  assert.match(notWebqq.err(), /network "tg" is telegram/);
  assert.ok(!notWebqq.err().includes("123:tok"));
});

test("run warns at start when XMPP verification or TLS is turned down (also from ${VAR:-false})", async (t) => {
  const { EventEmitter } = await import("node:events");
  const { Writable } = await import("node:stream");
  const dir = mkdtempSync(join(tmpdir(), "pb-main-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "p.yaml");
  writeFileSync(
    file,
    `state_dir: ./state
log: { level: info, format: json }
xmpp: { jid: bridge@localhost, password: pw, service: "xmpp://127.0.0.1:1", verify_tls: "\${VERIFY:-false}", tls: off }
networks: { tg: { type: telegram, token: "1:x", api: "http://127.0.0.1:1" } }
bridges: [{ xmpp: dev@conference.localhost, tg: "-100123" }]
`,
    { mode: 0o600 },
  );
  let logs = "";
  const signals = new EventEmitter();
  let done!: Promise<number>;
  await new Promise<void>((resolve) => {
    done = main(["run", "-c", file], {}, {
      ...io(),
      logDestination: new Writable({ write: (c, _e, cb) => ((logs += c.toString()), cb()) }),
      signals: signals as never,
      exit: () => undefined,
      onReady: () => resolve(),
    });
  });
  signals.emit("SIGTERM", "SIGTERM");
  assert.equal(await done, 0);
  assert.match(logs, /"level":40[^\n]*config: xmpp\.verify_tls: false: the server's certificate is not checked/);
  assert.match(logs, /"level":40[^\n]*config: xmpp\.tls: off: TLS is never used/);
});
