// The pollbridge command: `run | check | login NETWORK | demo | outbox ... | reload`, --help, --version.
// Exit codes: 0 ok, 1 bad config or usage, 2 runtime failure (see HELP in args.ts).

import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { Config } from "../config/types.ts";
import type { Env } from "../config/interpolate.ts";
import { ConfigError, type ConfigProblem, formatProblem } from "../config/problems.ts";
import { loadConfig } from "../config/load.ts";
import { configSecrets } from "../config/secrets.ts";
import { createPrivately, createStateDir, stateModeWarnings } from "../config/private-state.ts";
import { createLogger } from "../log.ts";
import { EXIT, HELP, UsageError, parseCliArgs, type OutboxAction } from "./args.ts";
import { checkConfig, problemLines, summary } from "./check.ts";
import { login, loginProblem } from "./login.ts";
import { handleShutdownSignals, type SignalSource } from "./signals.ts";
import { reloadCommand, runReloadable } from "./reload.ts";

export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Where logs go (default: fd 2). */
  logDestination?: NodeJS.WritableStream | number;
  /** Source of SIGINT/SIGTERM for `run` (default: process). */
  signals?: SignalSource;
  /** Called on a second signal: exit at once (default: process.exit). */
  exit?: (code: number) => void;
  /** Where `outbox drop` reads its confirmation (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Passed to run()'s onReady. */
  onReady?: (info: { metricsUrl?: string }) => void;
}

type RunFn = (config: Config, opts: { logger: Logger; signal: AbortSignal; onReady?: (info: { metricsUrl?: string }) => void }) => Promise<number>;
type DemoFn = (argv: string[], opts: { logger: Logger }) => Promise<number>;

// Loaded only by the command that needs them; written by other engineers.
const RUN_MODULE = "./run.ts";
const DEMO_MODULE = "./demo.ts";

export function version(): string {
  // ../../package.json from the sources, ../../../package.json from dist/.
  for (const rel of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "pollbridge" && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return "unknown";
}

/** Imports a sibling module that may not exist yet; undefined when the file itself is missing. */
async function importOptional<T>(spec: string): Promise<T | undefined> {
  try {
    return (await import(spec)) as T;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { url?: string };
    const target = new URL(spec, import.meta.url);
    const missing = e.code === "ERR_MODULE_NOT_FOUND" && (e.url === target.href || e.message.includes(`'${fileURLToPath(target)}'`));
    if (missing) return undefined;
    throw err;
  }
}

function printProblems(io: CliIo, file: string, problems: ConfigProblem[]): void {
  for (const p of problems) io.stderr.write(formatProblem(p) + "\n");
  io.stderr.write(`${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"} (see pollbridge check)\n`);
}

async function loadOrReport(file: string, env: Env, io: CliIo): Promise<{ config: Config; warnings: ConfigProblem[] } | undefined> {
  try {
    return await loadConfig(file, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    printProblems(io, file, err.problems);
    return undefined;
  }
}

function configLogger(config: Config, io: CliIo, warnings: ConfigProblem[]): Logger {
  const logger = createLogger({ level: config.log.level, format: config.log.format, destination: io.logDestination, secrets: configSecrets(config) });
  for (const w of warnings) logger.warn({ path: w.path }, `config: ${formatProblem(w)}`);
  return logger;
}

/** Everything this process writes is private; state_dir exists (0700); wider modes are warned about. */
async function privateState(config: Config): Promise<ConfigProblem[]> {
  createPrivately();
  const warnings = await stateModeWarnings(config.state_dir);
  await createStateDir(config.state_dir).catch(() => undefined); // unusable: the command says so
  return warnings;
}

async function runCommand(file: string, env: Env, io: CliIo): Promise<number> {
  const loaded = await loadOrReport(file, env, io);
  if (!loaded) return EXIT.config;
  const logger = configLogger(loaded.config, io, [...loaded.warnings, ...(await privateState(loaded.config))]);
  const mod = await importOptional<{ run: RunFn }>(RUN_MODULE);
  if (!mod) {
    io.stderr.write("run: not available yet\n");
    return EXIT.runtime;
  }
  const controller = new AbortController();
  const exit = io.exit ?? ((code: number) => process.exit(code));
  const dispose = handleShutdownSignals(io.signals ?? process, controller, {
    first: (signal) => logger.info({ signal }, "stopping: draining the outbox (send the signal again to exit at once)"),
    second: (signal) => {
      logger.warn({ signal }, "second signal: exiting without draining");
      exit(EXIT.runtime);
    },
  });
  try {
    // SIGHUP / pollbridge reload: re-read the config (refused when it fails check).
    return await runReloadable({
      file,
      env,
      config: loaded.config,
      logger,
      run: mod.run,
      signal: controller.signal,
      onReady: io.onReady,
      makeLogger: (config, warnings) => configLogger(config, io, warnings),
    });
  } catch (err) {
    logger.fatal({ err }, "the bridge failed");
    return EXIT.runtime;
  } finally {
    dispose();
  }
}

async function checkCommand(file: string, env: Env, io: CliIo): Promise<number> {
  const result = await checkConfig(file, env);
  for (const line of problemLines(result)) io.stderr.write(line + "\n");
  if (result.problems.length > 0 || !result.config) {
    io.stderr.write(`${file}: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}\n`);
    return EXIT.config;
  }
  io.stdout.write(summary(result.config));
  return EXIT.ok;
}

async function loginCommand(file: string, network: string, env: Env, io: CliIo): Promise<number> {
  const loaded = await loadOrReport(file, env, io);
  if (!loaded) return EXIT.config;
  const problem = loginProblem(loaded.config, network);
  if (problem) {
    io.stderr.write(problem + "\n");
    return EXIT.usage;
  }
  const logger = configLogger(loaded.config, io, [...loaded.warnings, ...(await privateState(loaded.config))]);
  try {
    await login(loaded.config, network, { logger, out: io.stdout });
  } catch (err) {
    logger.error({ err }, `login of ${network} failed`);
    return EXIT.runtime;
  }
  io.stdout.write(`${network}: logged in; session saved in ${loaded.config.state_dir}\n`);
  return EXIT.ok;
}

async function outboxCommand(file: string, action: OutboxAction, env: Env, io: CliIo): Promise<number> {
  const loaded = await loadOrReport(file, env, io);
  if (!loaded) return EXIT.config;
  createPrivately();
  const mod = await import("./outbox.ts");
  return mod.outboxCommand(loaded.config, action, io);
}

async function reloadCommandOf(file: string, env: Env, io: CliIo): Promise<number> {
  const loaded = await loadOrReport(file, env, io);
  if (!loaded) return EXIT.config;
  return reloadCommand(loaded.config, io);
}

async function demoCommand(rest: string[], io: CliIo): Promise<number> {
  const mod = await importOptional<{ demo: DemoFn }>(DEMO_MODULE);
  if (!mod) {
    io.stderr.write("demo: not available yet\n");
    return EXIT.runtime;
  }
  return mod.demo(rest, { logger: createLogger({ level: "info", destination: io.logDestination }) });
}

export async function main(argv: string[] = process.argv.slice(2), env: Env = process.env, io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let args;
  try {
    args = parseCliArgs(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`pollbridge: ${err.message}\nTry "pollbridge --help".\n`);
    return EXIT.usage;
  }
  if (args.kind === "help") {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (args.kind === "version") {
    io.stdout.write(`pollbridge ${version()}\n`);
    return EXIT.ok;
  }
  try {
    switch (args.command) {
      case "run":
        return await runCommand(args.config, env, io);
      case "check":
        return await checkCommand(args.config, env, io);
      case "login":
        return await loginCommand(args.config, args.network, env, io);
      case "demo":
        return await demoCommand(args.rest, io);
      case "outbox":
        return await outboxCommand(args.config, args.action, env, io);
      case "reload":
        return await reloadCommandOf(args.config, env, io);
    }
  } catch (err) {
    io.stderr.write(`pollbridge ${args.command}: ${(err as Error).message}\n`);
    return EXIT.runtime;
  }
}

/** True when this module is the program: `node bridge/cli/main.ts`, or imported by bin/pollbridge.js. */
function isProgram(): boolean {
  if (import.meta.main) return true;
  try {
    return /[\\/]bin[\\/]pollbridge(\.js)?$/.test(realpathSync(process.argv[1] ?? ""));
  } catch {
    return false;
  }
}

if (isProgram()) {
  // Logs are written synchronously, so exiting here loses no line; it also ends lingering handles.
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`pollbridge: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(EXIT.runtime);
    },
  );
}
