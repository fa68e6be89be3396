// Crash safety with real processes: a relay child is killed with SIGKILL at each point of a send
// (queued; in flight before the request was written; written, the group has it; answered, the
// answer not committed) and started again on the same SQLite file. The parent's HTTP server is
// the network group, so deliveries outlive the child. For a group whose network gives evidence
// (own echoes, a history lookup) every message arrives exactly once; for one without, at least
// once, and each resend of a maybe-delivered send is counted.
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
  /** Resolves with the match of the first line (now or earlier) matching `re`. */
  lineMatching(re: RegExp): Promise<RegExpMatchArray>;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}

function startChild(t: { after(fn: () => unknown): void }, ...args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exit = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    lines.push(l);
    for (const w of waiters) {
      const m = l.match(w.re);
      if (m) w.resolve(m);
    }
  });
  const lineMatching = (re: RegExp): Promise<RegExpMatchArray> => {
    for (const l of lines) {
      const m = l.match(re);
      if (m) return Promise.resolve(m);
    }
    return Promise.race([
      new Promise<RegExpMatchArray>((resolve) => waiters.push({ re, resolve })),
      exit.then(([code, sig]): never => {
        throw new Error(`child exited (${code ?? sig}) before printing a line matching ${re}`);
      }),
    ]);
  };
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return { proc, exit, lineMatching, line: (text) => lineMatching(new RegExp(`^${escape(text)}$`)).then(() => undefined) };
}

type T = { after(fn: () => unknown): void };
type Evidence = "echo" | "history" | "none";

/**
 * The network group: records every POSTed message (id qq-N), serves our own messages back as
 * events (GET /events?after=N, held until there is one when wait=1) and looks sends up
 * (GET /history). `hold` leaves the next send unanswered.
 */
async function groupServer(t: T) {
  const received: { id: string; group: string; text: string; at: number }[] = [];
  const arrived: (() => void)[] = [];
  const pollers = new Set<() => void>();
  let holdNext = false;
  const json = (res: ServerResponse, body: unknown) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/events") {
      const after = Number(url.searchParams.get("after"));
      const answer = () => json(res, received.slice(after).map(({ id, group, text }) => ({ id, group, text })));
      if (received.length > after || url.searchParams.get("wait") !== "1") return answer();
      const wake = () => {
        pollers.delete(wake);
        answer();
      };
      pollers.add(wake);
      return;
    }
    if (url.pathname === "/history") {
      const since = Number(url.searchParams.get("since"));
      const m = received.find((r) => r.group === url.searchParams.get("group") && r.text === url.searchParams.get("text") && r.at >= since);
      return json(res, m ? { id: m.id } : null);
    }
    let body = "";
    for await (const chunk of req) body += chunk;
    const { group, text } = JSON.parse(body) as { group: string; text: string };
    const id = `qq-${received.length + 1}`;
    received.push({ id, group, text, at: Date.now() });
    for (const a of arrived.splice(0)) a();
    for (const p of [...pollers]) p();
    if (holdNext) {
      holdNext = false;
      return; // never answered: the sender dies waiting
    }
    json(res, { id });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    texts: () => received.map((r) => r.text),
    hold: () => (holdNext = true),
    nextRequest: () => new Promise<void>((r) => arrived.push(r)),
  };
}

function tempDb(t: T): string {
  const dir = mkdtempSync(join(tmpdir(), "pb-crash-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "outbox.sqlite");
}

async function commitThenKill(t: T, db: string, url: string, evidence: Evidence, n: number): Promise<void> {
  const a = startChild(t, db, url, evidence, "accept", String(n));
  await a.line(`committed ${n}`);
  a.proc.kill("SIGKILL");
  assert.deepEqual(await a.exit, [null, "SIGKILL"]);
}

/** Runs until the outbox is empty, stops cleanly; returns how many sends it resent unconfirmed. */
async function resumeUntilIdle(t: T, db: string, url: string, evidence: Evidence): Promise<number> {
  const b = startChild(t, db, url, evidence, "resume");
  await b.line("idle");
  b.proc.kill("SIGTERM");
  const stopped = await b.lineMatching(/^stopped depth=0 resent=(\d+)$/);
  assert.deepEqual(await b.exit, [0, null]);
  return Number(stopped[1]);
}

const ALL = ["<alice> m1", "<alice> m2"];

test("SIGKILL after the commit, before the send: the next run delivers each message exactly once", { timeout: 30_000 }, async (t) => {
  const db = tempDb(t);
  const group = await groupServer(t);
  await commitThenKill(t, db, group.url, "echo", 2);
  assert.deepEqual(group.texts(), [], "nothing was sent before the kill (qq was logged out)");
  assert.equal(await resumeUntilIdle(t, db, group.url, "echo"), 0);
  assert.deepEqual(group.texts(), ALL);
  await resumeUntilIdle(t, db, group.url, "echo");
  assert.deepEqual(group.texts(), ALL, "a third run sends nothing again");
});

for (const evidence of ["echo", "history", "none"] as const) {
  test(`${evidence}: SIGKILL in flight before the request was written: sent once after the restart`, { timeout: 30_000 }, async (t) => {
    const db = tempDb(t);
    const group = await groupServer(t);
    await commitThenKill(t, db, group.url, evidence, 2);
    const b = startChild(t, db, group.url, evidence, "resume", "before-write");
    await b.line("at before-write");
    b.proc.kill("SIGKILL");
    await b.exit;
    const resent = await resumeUntilIdle(t, db, group.url, evidence);
    assert.deepEqual(group.texts(), ALL);
    // Not proven undelivered by any evidence but history: the resend is counted.
    assert.equal(resent, evidence === "history" ? 0 : 1);
  });

  for (const point of ["written", "answered"] as const) {
    const exact = evidence !== "none";
    test(`${evidence}: SIGKILL ${point === "written" ? "after the group got the send, before its answer" : "after the answer, before it was committed"}: ${exact ? "exactly once" : "at least once, counted"}`, { timeout: 30_000 }, async (t) => {
      const db = tempDb(t);
      const group = await groupServer(t);
      await commitThenKill(t, db, group.url, evidence, 2);
      let b: Child;
      if (point === "written") {
        group.hold();
        const reached = group.nextRequest();
        b = startChild(t, db, group.url, evidence, "resume");
        await reached; // m1 reached the group; its answer never comes
      } else {
        b = startChild(t, db, group.url, evidence, "resume", "answered");
        await b.line("at answered");
      }
      b.proc.kill("SIGKILL");
      await b.exit;
      assert.deepEqual(group.texts(), ["<alice> m1"]);
      const resent = await resumeUntilIdle(t, db, group.url, evidence);
      if (exact) {
        assert.deepEqual(group.texts(), ALL);
        assert.equal(resent, 0);
      } else {
        assert.deepEqual(group.texts(), ["<alice> m1", ...ALL], "resent once: a duplicate, never a loss");
        assert.equal(resent, 1);
      }
    });
  }
}
