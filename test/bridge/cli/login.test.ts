import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { login, loginProblem } from "../../../bridge/cli/login.ts";
import type { Config } from "../../../bridge/config/types.ts";
import { createLogger } from "../../../bridge/log.ts";
import { startWebqqSim } from "../../sim/webqq.ts";

function sink(): { write: (s: string) => void; text: () => string } {
  let text = "";
  return { write: (s) => void (text += s), text: () => text };
}

test("loginProblem: the network must exist and be webqq", () => {
  const config = { path: "/p.yaml", networks: { qq: { type: "webqq" }, ob: { type: "onebot11", api: "http://x" } } } as unknown as Config;
  assert.equal(loginProblem(config, "qq"), undefined);
  assert.match(loginProblem(config, "zz")!, /no network "zz" in \/p\.yaml \(networks: qq, ob\)/);
  assert.match(loginProblem(config, "ob")!, /is onebot11/);
});

test("login against the simulator: the QR is shown in the terminal, the session is saved with mode 0600", async (t) => {
  const sim = await startWebqqSim({ autoScan: 1, groups: [{ name: "Dev Group" }] });
  t.after(() => sim.close());
  const stateDir = await mkdtemp(join(tmpdir(), "pb-login-"));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const config = {
    path: "/p.yaml",
    state_dir: stateDir,
    networks: { qq: { type: "webqq", endpoints: { ptlogin: sim.url, ui: sim.url, s: sim.url, d1: sim.url } } },
    bridges: [{ xmpp: "dev@conference.localhost", format: "<{nick}> {text}", links: [{ network: "qq", group: "Dev Group" }] }],
  } as unknown as Config;
  const out = sink();
  let logged = "";
  const logger = createLogger({ level: "debug", destination: { write: (s: string) => void (logged += s) } as unknown as NodeJS.WritableStream });

  await login(config, "qq", { logger, out });

  assert.equal(sim.state.counters.login2, 1);
  assert.match(out.text(), /[█▀▄]/, "the QR is drawn in the terminal");
  assert.match(out.text(), /Scan this QR code with the QQ mobile app \(also saved as .*\.png\)/);
  const files = await readdir(stateDir);
  const session = files.find((f) => f.endsWith(".json"));
  assert.ok(session, `a session file in ${files.join(", ")}`);
  assert.equal((await stat(join(stateDir, session))).mode & 0o777, 0o600);
  for (const secret of sim.state.secrets) assert.ok(!logged.includes(secret) && !out.text().includes(secret), "no secret in the output");
  assert.deepEqual(sim.violations, []);
});
