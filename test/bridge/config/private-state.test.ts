// state_dir and everything in it are private whatever the inherited umask: the directory 0700,
// files 0600 (the outbox with its -wal/-shm, sessions, QR codes); wider existing modes are warned.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createPrivately, createStateDir, stateModeWarnings } from "../../../bridge/config/private-state.ts";
import { Outbox } from "../../../bridge/store/outbox.ts";
import { main } from "../../../bridge/cli/main.ts";

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

test("with a permissive inherited umask, created state is still 0700 / 0600 (SQLite's -wal and -shm too)", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "pb-private-"));
  const old = process.umask(0o022);
  t.after(() => {
    process.umask(old);
    rmSync(root, { recursive: true, force: true });
  });
  createPrivately();
  const dir = join(root, "a", "state");
  await createStateDir(dir);
  assert.equal(mode(dir), "700");
  assert.equal(mode(join(root, "a")), "700");
  writeFileSync(join(dir, "qq.session.json"), "{}");
  const outbox = new Outbox(join(dir, "outbox.sqlite"));
  t.after(() => outbox.close());
  outbox.setLastSeen("room@x", new Date()); // a write, so the WAL holds something
  const files = readdirSync(dir).sort();
  assert.ok(files.includes("outbox.sqlite-wal") && files.includes("outbox.sqlite-shm"), files.join(", "));
  for (const f of files) assert.equal(mode(join(dir, f)), "600", f);
  assert.deepEqual(await stateModeWarnings(dir), []);
});

test("pollbridge run under umask 022 makes state_dir 0700 and its files 0600, and warns about what was wider", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "pb-private-run-"));
  const old = process.umask(0o022);
  t.after(() => {
    process.umask(old);
    rmSync(root, { recursive: true, force: true });
  });
  const state = join(root, "state");
  const file = join(root, "p.yaml");
  writeFileSync(
    file,
    `state_dir: ${state}
log: { level: info, format: json }
xmpp: { jid: bridge@localhost, password: pw, service: "xmpp://127.0.0.1:1" }
networks: { tg: { type: telegram, token: "1:x", api: "http://127.0.0.1:1" } }
bridges: [{ xmpp: dev@conference.localhost, tg: "-100123" }]
`,
    { mode: 0o600 },
  );
  let logs = "";
  const signals = new EventEmitter();
  let done!: Promise<number>;
  const ready = new Promise<void>((resolve) => {
    done = main(["run", "-c", file], {}, {
      stdout: { write: () => true },
      stderr: { write: () => true },
      logDestination: new Writable({ write: (c, _e, cb) => ((logs += c.toString()), cb()) }),
      signals: signals as never,
      exit: () => undefined,
      onReady: () => resolve(),
    });
  });
  await ready;
  assert.equal(mode(state), "700");
  const files = readdirSync(state);
  assert.ok(files.includes("outbox.sqlite"), files.join(", "));
  for (const f of files) assert.equal(mode(join(state, f)), "600", f);
  signals.emit("SIGTERM", "SIGTERM");
  assert.equal(await done, 0);
  assert.doesNotMatch(logs, /readable by other users|has mode/);
});

test("existing wide modes are reported, not changed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pb-wide-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { chmodSync, mkdirSync } = await import("node:fs");
  chmodSync(dir, 0o750);
  writeFileSync(join(dir, "outbox.sqlite"), "");
  chmodSync(join(dir, "outbox.sqlite"), 0o640);
  mkdirSync(join(dir, "sub"));
  chmodSync(join(dir, "sub"), 0o700);
  writeFileSync(join(dir, "sub", "x.png"), "");
  chmodSync(join(dir, "sub", "x.png"), 0o604);
  const w = (await stateModeWarnings(dir)).map((p) => p.message);
  assert.deepEqual(w, [
    `${dir} has mode 0750: other users can reach the stored chat and sessions (chmod 700 ${dir})`,
    `readable by other users: ${join(dir, "outbox.sqlite")} (0640), ${join(dir, "sub", "x.png")} (0604) (chmod -R go= ${dir})`,
  ]);
  assert.equal(mode(dir), "750");
});
