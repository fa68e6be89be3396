// The `check` exit-code contract, through a real child process, plus the environment checks.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { checkConfig } from "../../../bridge/cli/check.ts";
import { run } from "../../../bridge/cli/run.ts";
import { Outbox } from "../../../bridge/store/outbox.ts";

const MAIN = fileURLToPath(new URL("../../../bridge/cli/main.ts", import.meta.url));
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "pb-check-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `
state_dir: ./state
xmpp: { jid: bridge@example.org, password: "\${XMPP_PASSWORD}", nick: qq }
networks:
  qq: { type: webqq }
bridges:
  - { xmpp: dev@conference.example.org, qq: "Dev Group" }
`;

function write(name: string, text: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

test("check: a good config exits 0 with 'config OK' and a summary", async () => {
  const file = write("good.yaml", GOOD);
  const r = await cli(["check", "-c", file], { XMPP_PASSWORD: "pw" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^config OK: .*good\.yaml$/m);
  assert.match(r.stdout, /dev@conference\.example\.org <-> qq:"Dev Group"/);
  assert.match(r.stderr, /^warning: networks\.qq: no saved session yet/m);
});

test("check: a bad config exits 1 and lists every problem with its path; no secret is echoed", async () => {
  const file = write(
    "bad.yaml",
    `
metrics: { listen: nohost }
xmpp: { jid: bridge, password: [s3cr3t-pw], nick: qq }
networks:
  qq: { type: webqq, colour: red }
bridges:
  - { xmpp: dev@conference.example.org, qr: "Dev Group" }
`,
  );
  const r = await cli(["check", "-c", file]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split("\n");
  for (const expected of [
    'bridges[0].qr: no network "qr" (networks: qq)',
    'metrics.listen: "nohost" is not host:port (e.g. 127.0.0.1:9464 or [::1]:9464)',
    'xmpp.jid: "bridge" is not a JID of the form name@domain',
    "xmpp.password: expected a string, got a list",
    "networks.qq.colour: unknown key",
  ]) {
    assert.ok(lines.includes(expected), `missing line ${expected}\n${r.stderr}`);
  }
  assert.ok(!r.stderr.includes("s3cr3t") && !r.stdout.includes("s3cr3t"));
  assert.equal(r.stdout, "");
});

test("check: $POLLBRIDGE_CONFIG is used without -c; a missing file and a missing variable exit 1", async () => {
  const file = write("env.yaml", GOOD);
  const missingVar = await cli(["check"], { POLLBRIDGE_CONFIG: file });
  assert.equal(missingVar.code, 1);
  assert.match(missingVar.stderr, /^xmpp\.password: environment variable XMPP_PASSWORD is not set$/m);
  const missingFile = await cli(["check", "-c", join(dir, "nope.yaml")]);
  assert.equal(missingFile.code, 1);
  assert.match(missingFile.stderr, /cannot read .*nope\.yaml: no such file/);
});

test("checkConfig: state_dir must be a writable directory or creatable", async () => {
  const blocker = write("blocker", "not a dir");
  const env = { XMPP_PASSWORD: "pw" };
  const asFile = await checkConfig(write("s1.yaml", GOOD.replace("./state", "./blocker")), env);
  assert.deepEqual(asFile.problems, [{ path: "state_dir", message: `${blocker} exists and is not a directory` }]);
  const under = await checkConfig(write("s2.yaml", GOOD.replace("./state", "./blocker/state")), env);
  assert.deepEqual(under.problems, [{ path: "state_dir", message: `cannot create ${blocker}/state: ${blocker} is not a directory` }]);
  const creatable = await checkConfig(write("s3.yaml", GOOD.replace("./state", "./new/deeper/state")), env);
  assert.deepEqual(creatable.problems, []);
  if (process.getuid?.() !== 0) {
    // root may write anywhere: the read-only case only means something for other users
    const ro = join(dir, "ro");
    mkdirSync(ro, { mode: 0o500 });
    const readOnly = await checkConfig(write("s4.yaml", GOOD.replace("./state", "./ro/state")), env);
    assert.deepEqual(readOnly.problems, [{ path: "state_dir", message: `cannot create ${ro}/state: ${ro} is not writable by this user` }]);
  }
});

test("checkConfig: an outbox.sqlite that run could not open is a problem (run exits 2 on it)", async () => {
  const env = { XMPP_PASSWORD: "pw" };
  const cases: [string, (state: string) => void, RegExp][] = [
    ["a directory", (state) => mkdirSync(join(state, "outbox.sqlite")), /^cannot open the outbox .*outbox\.sqlite: /],
    ["not a database", (state) => writeFileSync(join(state, "outbox.sqlite"), "x".repeat(4096)), /^cannot open the outbox .*outbox\.sqlite: file is not a database/],
  ];
  for (const [name, make, expected] of cases) {
    const state = join(dir, `ob-${name.replaceAll(" ", "-")}`);
    mkdirSync(state, { mode: 0o700 });
    make(state);
    const file = write(`ob-${name.replaceAll(" ", "-")}.yaml`, GOOD.replace("./state", state));
    const r = await checkConfig(file, env);
    assert.equal(r.problems.length, 1, name);
    assert.equal(r.problems[0]!.path, "state_dir");
    assert.match(r.problems[0]!.message, expected, name);
    // run, given the same config, stops with 2 before anything else.
    const code = await run(r.config!, { logger: pino({ level: "silent" }), signal: AbortSignal.abort() });
    assert.equal(code, 2, name);
  }
  // A good outbox (made by a run) passes.
  const good = join(dir, "ob-good");
  mkdirSync(good, { mode: 0o700 });
  new Outbox(join(good, "outbox.sqlite")).close();
  assert.deepEqual((await checkConfig(write("ob-good.yaml", GOOD.replace("./state", good)), env)).problems, []);
});

test("checkConfig: a state_dir or files in it that others can read are warnings", async () => {
  const state = join(dir, "wide");
  mkdirSync(state);
  chmodSync(state, 0o755);
  writeFileSync(join(state, "outbox.sqlite"), "");
  chmodSync(join(state, "outbox.sqlite"), 0o644);
  writeFileSync(join(state, "qq.session.json"), "{}", { mode: 0o600 });
  chmodSync(join(state, "qq.session.json"), 0o600);
  const r = await checkConfig(write("wide.yaml", GOOD.replace("./state", state)), { XMPP_PASSWORD: "pw" });
  assert.deepEqual(r.problems, []);
  const w = r.warnings.filter((x) => x.path === "state_dir").map((x) => x.message);
  assert.deepEqual(w, [
    `${state} has mode 0755: other users can reach the stored chat and sessions (chmod 700 ${state})`,
    `readable by other users: ${join(state, "outbox.sqlite")} (0644) (chmod -R go= ${state})`,
  ]);
});

test("check: verification or TLS turned down is a warning, also from ${VAR:-false}; check still passes", async () => {
  const file = write("tls-down.yaml", GOOD.replace('nick: qq }', 'nick: qq, verify_tls: "${VERIFY:-false}", tls: "${XMPP_TLS:-opportunistic}" }'));
  const r = await cli(["check", "-c", file], { XMPP_PASSWORD: "pw" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^warning: xmpp\.verify_tls: false: the server's certificate is not checked/m);
  assert.match(r.stderr, /^warning: xmpp\.tls: opportunistic: the bridge logs in without TLS/m);
  const strict = await cli(["check", "-c", file], { XMPP_PASSWORD: "pw", VERIFY: "true", XMPP_TLS: "required" });
  assert.equal(strict.code, 0, strict.stderr);
  assert.doesNotMatch(strict.stderr, /xmpp\.(verify_tls|tls)/);
});
