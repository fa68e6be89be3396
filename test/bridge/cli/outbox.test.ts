// `pollbridge outbox` against a running bridge (the real CLI as child processes, the WebQQ
// simulator, a real Prosody): list, retry a dead letter (the running bridge sends it, once),
// drop with and without confirmation; and the argument parsing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { parseCliArgs, UsageError } from "../../../bridge/cli/args.ts";
import { age, listing } from "../../../bridge/cli/outbox.ts";
import { Outbox, type OutboxItem } from "../../../bridge/store/outbox.ts";
import { groupTargetKey } from "../../../bridge/relay/target.ts";
import { GROUP, startWorld } from "../../e2e/world.ts";

const MAIN = new URL("../../../bridge/cli/main.ts", import.meta.url).pathname;

/** One CLI run to its end: exit code and output; `input` is written to its stdin. */
function cli(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, out, err })));
}

test("outbox tools on a running bridge: list, retry a dead letter (sent once), drop asks first", async (t) => {
  const w = await startWorld(t);
  const target = groupTargetKey("qq", GROUP);
  // What an earlier run left: a dead letter for the group, and a message for a network no bridge names any more.
  const seed = new Outbox(join(w.dir, "state", "outbox.sqlite"));
  const [dead] = seed.accept({ sourceKey: "xmpp:seed:1", items: [{ bridge: w.room, target, text: "<alice> revived", sender: "alice" }] })!;
  seed.markAttempt(dead!.id);
  assert.ok(seed.deadLetter(dead!.id, "HTTP 500 from send_qun_msg2 (seeded)"));
  const [orphan] = seed.accept({ sourceKey: "net:old:1", items: [{ bridge: w.room, target: "net:old:Gone", text: "orphan", sender: "bob" }] })!;
  seed.close();

  w.spawnBridge();
  await w.bridgeInRoom();
  await w.health(200);
  const c = ["-c", w.configPath];

  const list = await cli(["outbox", ...c], w.env);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, new RegExp(`^${target}: 0 pending, 1 dead letter$`, "m"));
  assert.match(list.out, new RegExp(`^  ${dead!.id} +dead +\\d+ s +1 +HTTP 500 from send_qun_msg2 \\(seeded\\) +<alice> revived$`, "m"));
  assert.match(list.out, new RegExp(`^  ${orphan!.id} +pending +\\d+ s +0 +- +orphan$`, "m"));
  assert.equal(w.sim.sent(GROUP).length, 0, "a dead letter is not sent by itself");

  const notDead = await cli(["outbox", "retry", String(orphan!.id), ...c], w.env);
  assert.equal(notDead.code, 1);
  assert.match(notDead.err, /not a dead letter \(it is pending\)/);

  const retry = await cli(["outbox", "retry", String(dead!.id), ...c], w.env);
  assert.equal(retry.code, 0, retry.err);
  assert.match(retry.out, new RegExp(`item ${dead!.id} is back in the queue of ${target} as item \\d+`));
  const sent = await w.sim.waitForSent(GROUP, 1, AbortSignal.timeout(30_000));
  assert.equal(sent[0]!.text, "<alice> revived");
  // Exactly once: a sentinel after it, then count.
  await w.alice.say(w.room, "sentinel");
  const all = await w.sim.waitForSent(GROUP, 2, AbortSignal.timeout(30_000));
  assert.deepEqual(all.map((m) => m.text), ["<alice> revived", "<alice> sentinel"]);

  const refused = await cli(["outbox", "drop", String(orphan!.id), ...c], w.env, "n\n");
  assert.equal(refused.code, 1);
  assert.match(refused.err, new RegExp(`drop pending item ${orphan!.id} to net:old:Gone: "orphan"\\? .*\\[y/N\\]`));
  assert.match(refused.err, /not dropped/);
  const noAnswer = await cli(["outbox", "drop", String(orphan!.id), ...c], w.env, "");
  assert.equal(noAnswer.code, 1, "end of input is a no");
  assert.match((await cli(["outbox", ...c], w.env)).out, /net:old:Gone: 1 pending/);

  const dropped = await cli(["outbox", "drop", String(orphan!.id), "--yes", ...c], w.env);
  assert.equal(dropped.code, 0, dropped.err);
  assert.match(dropped.out, new RegExp(`dropped pending item ${orphan!.id}`));
  const after = await cli(["outbox", ...c], w.env);
  assert.equal(after.out, "the outbox is empty: nothing pending, no dead letters\n");
  assert.ok(!w.logs().includes(w.passwords.bridge));
});

test("outbox arguments", () => {
  const p = (...a: string[]) => parseCliArgs(a, {}, "/tmp");
  assert.deepEqual(p("outbox"), { kind: "command", command: "outbox", config: "/tmp/pollbridge.yaml", action: { kind: "list" } });
  assert.deepEqual((p("outbox", "retry", "12") as { action: unknown }).action, { kind: "retry", id: 12 });
  assert.deepEqual((p("outbox", "retry", "--all-dead") as { action: unknown }).action, { kind: "retry-all-dead" });
  assert.deepEqual((p("outbox", "drop", "7", "--yes") as { action: unknown }).action, { kind: "drop", id: 7, yes: true });
  assert.deepEqual((p("outbox", "drop", "7") as { action: unknown }).action, { kind: "drop", id: 7, yes: false });
  for (const bad of [["outbox", "retry"], ["outbox", "retry", "x1"], ["outbox", "drop"], ["outbox", "drop", "1", "2"], ["outbox", "purge"], ["outbox", "--yes"], ["run", "--all-dead"], ["outbox", "drop", "1", "--all-dead"]]) {
    assert.throws(() => p(...bad), UsageError, bad.join(" "));
  }
});

test("outbox listing: per target, pending before dead letters, secrets scrubbed", () => {
  const item = (id: number, state: "pending" | "failed", over: Partial<OutboxItem> = {}): OutboxItem =>
    ({ id, target: "net:tg:-100", state, attempts: 2, attemptedAt: null, createdAt: 0, error: null, text: "hello", ...over }) as OutboxItem;
  const out = listing([item(3, "failed", { error: "token abc123 refused" }), item(4, "pending", { attemptedAt: 5 })], 90_000, (s) => s.replaceAll("abc123", "[Redacted]"));
  assert.equal(
    out,
    ["net:tg:-100: 1 pending, 1 dead letter", "  id  state        age   attempts  last error                message", "  4   unconfirmed  90 s  2         -                         hello", "  3   dead         90 s  2         token [Redacted] refused  hello", ""].join("\n"),
  );
  assert.equal(age(3 * 3600_000), "3 h");
});
