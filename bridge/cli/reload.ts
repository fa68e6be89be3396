// Reload: SIGHUP (or `pollbridge reload`, which finds the running process through the pid file
// in state_dir and sends it SIGHUP) re-reads the config. A config that fails `check` is refused
// with its problems logged, and the running one stays. A good one is applied to the running
// bridge, part by part (config-diff.ts): bridges, formats and rate limits live, with nothing
// restarted; a changed network restarts only its adapter, a changed XMPP account only the XMPP
// client. Nothing is lost or sent twice: each target's worker settles its send in flight before
// its replacement starts, the outbox holds what waits meanwhile, and a restarted XMPP client's
// joins catch up on the rooms. Keys no part takes in live (log, metrics, relay drain and dead-letter
// settings) restart the whole bridge inside the process, as a stop and a start would.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Env } from "../config/interpolate.ts";
import { type ConfigProblem, formatProblem } from "../config/problems.ts";
import type { Config } from "../config/types.ts";
import { addLogSecrets } from "../log.ts";
import { configSecrets } from "../config/secrets.ts";
import { checkConfig } from "./check.ts";
import { describeChange, diffConfig } from "./config-diff.ts";
import { claimPidFile, PID_FILE } from "./pid-file.ts";
import type { ApplyFn } from "./run.ts";

export type RunFn = (
  config: Config,
  opts: { logger: Logger; signal: AbortSignal; onReady?: (info: { metricsUrl?: string }) => void; onApply?: (apply: ApplyFn) => void; lastRunUnclean?: boolean },
) => Promise<number>;

export interface HangupSource {
  on(event: "SIGHUP", fn: () => void): unknown;
  off(event: "SIGHUP", fn: () => void): unknown;
}

export interface ReloadableOptions {
  file: string;
  env: Env;
  config: Config;
  logger: Logger;
  run: RunFn;
  /** Aborted on SIGINT/SIGTERM: the last session stops and its code is returned. */
  signal: AbortSignal;
  /** A logger for a new config (its level, format and secrets to scrub), its warnings logged. */
  makeLogger(config: Config, warnings: ConfigProblem[]): Logger;
  onReady?: (info: { metricsUrl?: string }) => void;
  hangups?: HangupSource;
}

/** Why a valid new config still cannot be applied by a reload; undefined when it can. */
function unreloadable(now: Config, next: Config): string | undefined {
  // The outbox lives in state_dir: switching files would strand what is pending in the old one.
  if (next.state_dir !== now.state_dir) return `state_dir changed (${now.state_dir} -> ${next.state_dir}): restart to move the state`;
  return undefined;
}

export async function runReloadable(o: ReloadableOptions): Promise<number> {
  let config = o.config;
  let logger = o.logger;
  let next: { config: Config; warnings: ConfigProblem[] } | undefined;
  let session = new AbortController();
  let checking = false;
  /** The running session's way to apply a config live (set once it runs). */
  let apply: ApplyFn | undefined;
  const hangups = o.hangups ?? process;

  const onHangup = (): void => {
    if (checking || next) return void logger.info("SIGHUP: a reload is already under way");
    checking = true;
    logger.info({ file: o.file }, "SIGHUP: re-reading the config");
    checkConfig(o.file, o.env)
      .then((result) => {
        if (result.problems.length > 0 || !result.config) {
          for (const p of result.problems) logger.error({ path: p.path }, `reload refused: ${formatProblem(p)}`);
          logger.error({ problems: result.problems.length }, "reload refused: the config has problems (see pollbridge check); the running config stays");
          return;
        }
        const why = unreloadable(config, result.config);
        if (why) return void logger.error(`reload refused: ${why}; the running config stays`);
        const change = diffConfig(config, result.config);
        if (change.restart.length === 0 && apply) {
          const fresh = result.config;
          addLogSecrets(logger, configSecrets(fresh));
          for (const w of result.warnings) logger.warn({ path: w.path }, `config: ${formatProblem(w)}`);
          logger.info({ file: o.file }, `reload: applying the new config: ${describeChange(change)}`);
          return apply(fresh, change).then(
            () => {
              config = fresh;
              logger.info({ file: o.file }, `config reloaded: ${describeChange(change)}`);
            },
            (err: unknown) => logger.error({ err }, "reload: applying the new config failed part-way; what started runs, restart the bridge to be sure which config is in force"),
          );
        }
        next = { config: result.config, warnings: result.warnings };
        logger.info({ keys: change.restart }, `reload: ${change.restart.join(", ")} cannot change while running: stopping the running bridge (draining the outbox) to start with the new config`);
        session.abort(new Error("reload"));
      })
      .catch((err: unknown) => logger.error({ err }, "reload failed; the running config stays"))
      .finally(() => (checking = false));
  };

  const pidFile = await claimPidFile(config.state_dir);
  // Only the first run may follow a run that was killed; a restart in-process follows this one.
  let lastRunUnclean = pidFile.unclean;
  hangups.on("SIGHUP", onHangup);
  try {
    for (;;) {
      const stop = (): void => session.abort(o.signal.reason);
      if (o.signal.aborted) stop();
      else o.signal.addEventListener("abort", stop, { once: true });
      apply = undefined;
      const code = await o.run(config, { logger, signal: session.signal, onReady: o.onReady, onApply: (fn) => (apply = fn), lastRunUnclean });
      lastRunUnclean = false;
      o.signal.removeEventListener("abort", stop);
      if (o.signal.aborted || !next || code !== 0) return code;
      config = next.config;
      logger = o.makeLogger(config, next.warnings);
      next = undefined;
      session = new AbortController();
      logger.info({ file: o.file }, "config reloaded: the bridge starts with the new config (restarted in-process)");
    }
  } finally {
    hangups.off("SIGHUP", onHangup);
    await pidFile.release();
  }
}

/** `pollbridge reload`: SIGHUP to the bridge whose pid file is in state_dir. */
export async function reloadCommand(config: Config, io: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown } }): Promise<number> {
  const pidFile = join(config.state_dir, PID_FILE);
  const text = await readFile(pidFile, "utf8").catch(() => undefined);
  const pid = text === undefined ? NaN : Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    io.stderr.write(text === undefined ? `no running bridge: ${pidFile} does not exist\n` : `${pidFile} does not hold a process id\n`);
    return 2;
  }
  // On Linux, make sure the pid is still a pollbridge (a stale file's pid may be reused).
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  if (cmdline !== undefined && !/pollbridge|bridge[\\/]cli[\\/]main/.test(cmdline)) {
    io.stderr.write(`no running bridge: process ${pid} (from ${pidFile}) is not pollbridge\n`);
    return 2;
  }
  try {
    process.kill(pid, "SIGHUP");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    io.stderr.write(code === "ESRCH" ? `no running bridge: process ${pid} (from ${pidFile}) is gone\n` : `cannot signal process ${pid}: ${(err as Error).message}\n`);
    return 2;
  }
  io.stdout.write(`sent SIGHUP to pollbridge (pid ${pid}): it re-reads ${config.path}; its log says whether the config was applied or refused\n`);
  return 0;
}
