// Command-line parsing and the --help text.

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import type { Env } from "../config/interpolate.ts";

export const COMMANDS = ["run", "check", "login", "demo"] as const;
export type Command = (typeof COMMANDS)[number];

export type CliArgs =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "command"; command: "run" | "check"; config: string }
  | { kind: "command"; command: "login"; config: string; network: string }
  | { kind: "command"; command: "demo"; rest: string[] };

/** Bad usage: exit 1 with this message and a pointer to --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const EXIT = { ok: 0, usage: 1, config: 1, runtime: 2 } as const;

export const HELP = `Usage: pollbridge <command> [options]

Relays group chats reached over HTTP polling (WebQQ/SmartQQ, OneBot, Telegram) to XMPP rooms.

Commands:
  run                 Run the bridge until SIGINT/SIGTERM, then drain the outbox and exit
  check               Validate the config file and the environment; list every problem
  login NETWORK       Log a network in interactively (WebQQ: scan the QR code) and save
                      the session for run
  demo                The whole bridge on loopback with a simulated group network and a
                      local Prosody; needs no account

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
  switch (command as Command) {
    case "demo":
      return { kind: "command", command: "demo", rest: argv.slice(demoAt + 1) };
    case "login":
      if (rest.length !== 1) throw new UsageError(rest.length === 0 ? "login needs a NETWORK (a network id from the config, e.g. qq)" : `login takes one NETWORK, got ${rest.length}`);
      return { kind: "command", command: "login", config, network: rest[0]! };
    default:
      if (rest.length > 0) throw new UsageError(`${command} takes no arguments, got "${rest[0]}"`);
      return { kind: "command", command: command as "run" | "check", config };
  }
}
