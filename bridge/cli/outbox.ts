// `pollbridge outbox`: the operator's tools for what is stuck, safe while the bridge runs.
// They work on the outbox file directly: SQLite in WAL mode with busy_timeout serialises this
// process's writes with the bridge's, each change is one statement or a BEGIN IMMEDIATE
// transaction, and the running bridge notices another process's commit through SQLite's
// data_version (checked every second) and lets its workers look at the queue again.
import { existsSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import type { Config } from "../config/types.ts";
import { configSecrets } from "../config/secrets.ts";
import { lineScrubber } from "../log.ts";
import { OUTBOX_FILE, Outbox, type OutboxItem } from "../store/outbox.ts";
import type { OutboxAction } from "./args.ts";
import { EXIT } from "./args.ts";

export interface OutboxIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Where the drop confirmation is read from (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

/** "42 s", "7 min", "3 h", "2 d": how long ago. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

const short = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : flat.slice(0, max - 1) + "…";
};

/** The listing: per target, its pending items then its dead letters. */
export function listing(items: OutboxItem[], now: number, scrub: (s: string) => string): string {
  if (items.length === 0) return "the outbox is empty: nothing pending, no dead letters\n";
  const byTarget = new Map<string, OutboxItem[]>();
  for (const it of items) byTarget.set(it.target, [...(byTarget.get(it.target) ?? []), it]);
  const lines: string[] = [];
  for (const [target, list] of byTarget) {
    const pending = list.filter((i) => i.state === "pending").length;
    const dead = list.length - pending;
    lines.push(`${target}: ${pending} pending, ${dead} dead letter${dead === 1 ? "" : "s"}`);
    const rows = [["id", "state", "age", "attempts", "last error", "message"]];
    for (const it of [...list.filter((i) => i.state === "pending"), ...list.filter((i) => i.state === "failed")]) {
      const state = it.state === "failed" ? "dead" : it.attemptedAt !== null ? "unconfirmed" : "pending";
      rows.push([String(it.id), state, age(now - it.createdAt), String(it.attempts), short(scrub(it.error ?? "-"), 60), short(scrub(it.text), 50)]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) lines.push("  " + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  "));
  }
  return lines.join("\n") + "\n";
}

async function confirm(io: OutboxIo, question: string): Promise<boolean> {
  io.stderr.write(question);
  const rl = createInterface({ input: io.stdin ?? process.stdin, terminal: false });
  try {
    for await (const line of rl) return /^\s*y(es)?\s*$/i.test(line);
    return false; // end of input: no answer is a no
  } finally {
    rl.close();
  }
}

export async function outboxCommand(config: Config, action: OutboxAction, io: OutboxIo): Promise<number> {
  const scrub = lineScrubber(configSecrets(config));
  const path = join(config.state_dir, OUTBOX_FILE);
  if (!existsSync(path)) {
    io.stderr.write(`no outbox at ${path} yet (pollbridge run creates it)\n`);
    return action.kind === "list" ? EXIT.ok : EXIT.usage;
  }
  // Another user (root) would leave its -wal/-shm files behind, which the service then cannot open.
  const owner = statSync(path).uid;
  if (process.getuid && process.getuid() !== owner) {
    io.stderr.write(`${path} belongs to uid ${owner}: run this as that user (e.g. sudo -u pollbridge pollbridge outbox ...)\n`);
    return EXIT.usage;
  }
  const outbox = new Outbox(path);
  try {
    switch (action.kind) {
      case "list":
        io.stdout.write(listing(outbox.openItems(), Date.now(), scrub));
        return EXIT.ok;
      case "retry": {
        const item = outbox.get(action.id);
        if (item?.state !== "failed") {
          io.stderr.write(`item ${action.id} is ${item ? `not a dead letter (it is ${item.state})` : "not in the outbox"}\n`);
          return EXIT.usage;
        }
        const id = outbox.requeue(action.id)!;
        io.stdout.write(`item ${action.id} is back in the queue of ${item.target} as item ${id}\n`);
        return EXIT.ok;
      }
      case "retry-all-dead": {
        const dead = outbox.inState("failed");
        for (const item of dead) {
          const id = outbox.requeue(item.id);
          if (id !== undefined) io.stdout.write(`item ${item.id} is back in the queue of ${item.target} as item ${id}\n`);
        }
        io.stdout.write(`${dead.length} dead letter${dead.length === 1 ? "" : "s"} put back in the queue\n`);
        return EXIT.ok;
      }
      case "drop": {
        const item = outbox.get(action.id);
        if (!item || item.state === "delivered") {
          io.stderr.write(`item ${action.id} is ${item ? "delivered already" : "not in the outbox"}\n`);
          return EXIT.usage;
        }
        const what = `${item.state === "failed" ? "dead letter" : "pending item"} ${item.id} to ${item.target}: "${short(scrub(item.text), 60)}"`;
        if (!action.yes && !(await confirm(io, `drop ${what}? It is never sent then. [y/N] `))) {
          io.stderr.write("not dropped\n");
          return EXIT.usage;
        }
        if (!outbox.drop(item.id)) {
          io.stderr.write(`item ${item.id} was settled meanwhile; nothing dropped\n`);
          return EXIT.usage;
        }
        const inFlight = item.state === "pending" && item.attemptedAt !== null;
        io.stdout.write(`dropped ${what}${inFlight ? " (a send of it had started: the target may still show it once)" : ""}\n`);
        return EXIT.ok;
      }
    }
  } finally {
    outbox.close();
  }
}
