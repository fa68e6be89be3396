// Crash safety with real processes: a relay child is killed with SIGKILL and started again on
// the same SQLite file; the parent's HTTP server is the network group, so deliveries outlive it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const CHILD = new URL("./crash-child.ts", import.meta.url).pathname;

interface Child {
  proc: ChildProcess;
  /** Resolves when the child printed this exact line (now or earlier). */
  line(text: string): Promise<void>;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

function startChild(t: { after(fn: () => unknown): void }, ...args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exit = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  });
  const lines: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    lines.push(l);
    for (const w of waiters.filter((w) => w.text === l)) w.resolve();
  });
  return {
    proc,
    exit,
    line: (text) =>
      lines.includes(text)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ text, resolve })),
            exit.then(([code, sig]) => {
              throw new Error(`child exited (${code ?? sig}) before printing "${text}"`);
            }),
          ]),
  };
}

/** The network group: records every POSTed message; `hold` leaves the next request unanswered. */
async function groupServer(t: { after(fn: () => unknown): void }) {
  const received: string[] = [];
  const arrived: (() => void)[] = [];
  let holdNext = false;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    received.push((JSON.parse(body) as { text: string }).text);
    for (const a of arrived.splice(0)) a();
    if (holdNext) {
      holdNext = false;
      return; // never answered: the sender dies waiting
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ id: `qq-${received.length}` }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    received,
    hold: () => (holdNext = true),
    nextRequest: () => new Promise<void>((r) => arrived.push(r)),
  };
}

function tempDb(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "pb-crash-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "outbox.sqlite");
}

async function commitThenKill(t: { after(fn: () => unknown): void }, db: string, url: string, n: number): Promise<void> {
  const a = startChild(t, db, url, "accept", String(n));
  await a.line(`committed ${n}`);
  a.proc.kill("SIGKILL");
  assert.deepEqual(await a.exit, [null, "SIGKILL"]);
}

async function resumeUntilIdle(t: { after(fn: () => unknown): void }, db: string, url: string): Promise<void> {
  const b = startChild(t, db, url, "resume");
  await b.line("idle");
  b.proc.kill("SIGTERM");
  await b.line("stopped depth=0");
  assert.deepEqual(await b.exit, [0, null]);
}

test("SIGKILL after the commit, before the send: the next run delivers each message exactly once", { timeout: 30_000 }, async (t) => {
  const db = tempDb(t);
  const group = await groupServer(t);
  await commitThenKill(t, db, group.url, 3);
  assert.deepEqual(group.received, [], "nothing was sent before the kill (qq was logged out)");

  await resumeUntilIdle(t, db, group.url);
  assert.deepEqual(group.received, ["<alice> m1", "<alice> m2", "<alice> m3"]);

  await resumeUntilIdle(t, db, group.url);
  assert.equal(group.received.length, 3, "a third run sends nothing again");
});

test("SIGKILL while a send is in flight: it is not resent blindly, the rest follows once", { timeout: 30_000 }, async (t) => {
  const db = tempDb(t);
  const group = await groupServer(t);
  await commitThenKill(t, db, group.url, 3);

  group.hold();
  const b = startChild(t, db, group.url, "resume");
  await group.nextRequest(); // m1 reached the group; its answer never comes
  b.proc.kill("SIGKILL");
  await b.exit;

  await resumeUntilIdle(t, db, group.url);
  assert.deepEqual(group.received, ["<alice> m1", "<alice> m2", "<alice> m3"]);
});
