// End to end through the CLI over each WebSocket transport: `pollbridge run` between a real
// Prosody room and the OneBot 11 simulator. Both directions exactly once; then a kill -9,
// messages said in the group while the bridge is down, and a restart that catches them up from
// history once (the mark kept in state_dir survives the kill).
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { cliWorld, GROUP } from "./cli-world.ts";

const within = () => AbortSignal.timeout(30_000);

async function cliRun(t: TestContext, transport: "ws" | "ws-reverse"): Promise<void> {
  const w = await cliWorld(t, transport);
  const { sim, alice, room } = w;
  const first = w.spawn();
  await w.healthy();
  sim.inject({ group: GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi" }, message: "from the group" });
  await alice.waitFor((m) => m.body === "<Obi> from the group", 30_000);
  await alice.say(room, "from the room");
  assert.equal((await sim.waitForSent(GROUP, 1, within()))[0]!.text, "<alice> from the room");
  // Killed once the send was committed (a kill during a send is the relay's settling, branch core).
  await w.drained();

  first.child.kill("SIGKILL");
  await first.exited;
  sim.inject({ group: GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi" }, message: "while down 1" });
  sim.inject({ group: GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi" }, message: "while down 2" });
  const second = w.spawn();
  await alice.waitFor((m) => m.body === "<Obi> while down 2", 30_000);
  await w.healthy();
  sim.inject({ group: GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi" }, message: "sentinel" });
  await alice.waitFor((m) => m.body === "<Obi> sentinel", 30_000);

  assert.deepEqual(w.relayed(), ["<Obi> from the group", "<Obi> while down 1", "<Obi> while down 2", "<Obi> sentinel"]);
  assert.equal(sim.sent(GROUP).length, 1);
  assert.deepEqual(sim.violations, []);
  second.child.kill("SIGTERM");
  assert.equal((await second.exited).code, 0, second.output().slice(-2000));
  const logs = first.output() + second.output();
  for (const secret of [w.passwords.bridge, sim.token ?? ""]) assert.ok(secret === "" || !logs.includes(secret), "a secret appears in the logs");
  assert.match(logs, /NapCat/); // the profile, logged at start
}

test("CLI over a forward WebSocket (events: ws, no api): both ways once; kill -9, messages while down caught up once", { timeout: 90_000 }, (t) => cliRun(t, "ws"));
test("CLI over a reverse WebSocket (events: ws-reverse): both ways once; kill -9, messages while down caught up once", { timeout: 90_000 }, (t) => cliRun(t, "ws-reverse"));
