// Command-line parsing and the --help text.

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import type { Env } from "../config/interpolate.ts";

export const COMMANDS = ["run", "check", "login", "demo", "outbox", "reload"] as const;
export type Command = (typeof COMMANDS)[number];

export type CliArgs =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "command"; command: "run" | "check" | "reload"; config: string }
  | { kind: "command"; command: "outbox"; config: string; action: OutboxAction }
  | { kind: "command"; command: "login"; config: string; network: string }
  | { kind: "command"; command: "demo"; rest: string[] };

export type OutboxAction = { kind: "list" } | { kind: "retry"; id: number } | { kind: "retry-all-dead" } | { kind: "drop"; id: number; yes: boolean };

/** Bad usage: exit 1 with this message and a pointer to --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const EXIT = { ok: 0, usage: 1, config: 1, runtime: 2 } as const;

export const HELP = `Usage: pollbridge <command> [options]

Relays group chats reached over HTTP polling (WebQQ/SmartQQ, OneBot, Telegram) to XMPP rooms.

Commands:
  run                 Run the bridge until SIGINT/SIGTERM, then drain the outbox and exit;
                      SIGHUP re-reads the config
  check               Validate the config file and the environment; list every problem
  login NETWORK       Log a network in interactively (WebQQ: scan the QR code) and save
                      the session for run
  demo                The whole bridge on loopback with a simulated group network and a
                      local Prosody; needs no account
  outbox              List pending messages and dead letters per target (id, age,
                      attempts, last error); works while the bridge runs
  outbox retry ID|--all-dead
                      Put a dead letter (or all of them) back in its target's queue
  outbox drop ID [--yes]
                      Remove a pending message or a dead letter (asks first unless --yes)
  reload              Make the running bridge re-read its config (SIGHUP to the pid in
                      state_dir); a config that fails check is refused, the old one stays

Options:
  -c, --config FILE   Config file (default: $POLLBRIDGE_CONFIG, else ./pollbridge.yaml)
  -h, --help          Show this help
  -V, --version       Show the version

Environment:
  POLLBRIDGE_CONFIG   Config file used when -c is not given
  \${VAR} in the config file is replaced from the environment (e.g. XMPP_PASSWORD)

Exit codes:
  0  success (run: stopped cleanly after a signal)
  1  bad config or bad usage (the problems are listed, one per line)
  2  runtime failure (could not start, or failed while running; a second signal)
`;

export function defaultConfigPath(env: Env, cwd: string): string {
  return resolve(cwd, env.POLLBRIDGE_CONFIG || "pollbridge.yaml");
}

export function parseCliArgs(argv: readonly string[], env: Env, cwd = process.cwd()): CliArgs {
  // `demo` takes its own arguments: everything after it is passed through untouched.
  const demoAt = argv.indexOf("demo");
  const own = demoAt >= 0 ? argv.slice(0, demoAt + 1) : [...argv];
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
        "all-dead": { type: "boolean" },
        yes: { type: "boolean", short: "y" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError("no command given");
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}" (commands: ${COMMANDS.join(", ")})`);
  if (values.config === "") throw new UsageError("-c needs a file name");
  const config = values.config ? resolve(cwd, values.config) : defaultConfigPath(env, cwd);
  if ((values["all-dead"] || values.yes) && command !== "outbox") throw new UsageError(`--${values.yes ? "yes" : "all-dead"} belongs to the outbox command`);
  switch (command as Command) {
    case "outbox":
      return { kind: "command", command: "outbox", config, action: outboxAction(rest, values["all-dead"] === true, values.yes === true) };
    case "demo":
      return { kind: "command", command: "demo", rest: argv.slice(demoAt + 1) };
    case "login":
      if (rest.length !== 1) throw new UsageError(rest.length === 0 ? "login needs a NETWORK (a network id from the config, e.g. qq)" : `login takes one NETWORK, got ${rest.length}`);
      return { kind: "command", command: "login", config, network: rest[0]! };
    default:
      if (rest.length > 0) throw new UsageError(`${command} takes no arguments, got "${rest[0]}"`);
      return { kind: "command", command: command as "run" | "check" | "reload", config };
  }
}

function itemId(s: string | undefined, what: string): number {
  if (s === undefined) throw new UsageError(`${what} needs an item ID (see pollbridge outbox)`);
  if (!/^[1-9]\d{0,15}$/.test(s)) throw new UsageError(`"${s}" is not an item ID (a number from pollbridge outbox)`);
  return Number(s);
}

function outboxAction(rest: string[], allDead: boolean, yes: boolean): OutboxAction {
  const [verb, ...args] = rest;
  if (allDead && verb !== "retry") throw new UsageError("--all-dead belongs to outbox retry");
  if (yes && verb !== "drop") throw new UsageError("--yes belongs to outbox drop");
  const tooMany = (n: number) => {
    if (args.length > n) throw new UsageError(`outbox ${verb} takes ${n === 0 ? "no arguments" : "one ID"}, got "${args[n]}"`);
  };
  switch (verb) {
    case undefined:
    case "list":
      tooMany(0);
      return { kind: "list" };
    case "retry":
      if (allDead) {
        tooMany(0);
        return { kind: "retry-all-dead" };
      }
      tooMany(1);
      return { kind: "retry", id: itemId(args[0], "outbox retry") };
    case "drop":
      tooMany(1);
      return { kind: "drop", id: itemId(args[0], "outbox drop"), yes };
    default:
      throw new UsageError(`unknown outbox action "${verb}" (outbox, outbox retry ID|--all-dead, outbox drop ID [--yes])`);
  }
}
