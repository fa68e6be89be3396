// `pollbridge check`: the config file and the environment it needs, every problem at once.

import { access, stat, constants } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Config } from "../config/types.ts";
import type { Env } from "../config/interpolate.ts";
import { type ConfigProblem, ConfigError, formatProblem } from "../config/problems.ts";
import { loadConfig } from "../config/load.ts";
import { sessionPath } from "../networks/webqq/session.ts";
import { stateModeWarnings } from "../config/private-state.ts";
import { OUTBOX_FILE, Outbox } from "../store/outbox.ts";
import { onebot11Warnings } from "../networks/onebot11/check.ts";

export interface CheckResult {
  config?: Config;
  problems: ConfigProblem[];
  warnings: ConfigProblem[];
}

export async function checkConfig(file: string, env: Env): Promise<CheckResult> {
  let loaded;
  try {
    loaded = await loadConfig(file, env);
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems, warnings: [] };
    throw err;
  }
  const { config, warnings } = loaded;
  const problems: ConfigProblem[] = [];
  const stateProblem = await stateDirProblem(config.state_dir);
  if (stateProblem) problems.push({ path: "state_dir", message: stateProblem });
  else {
    const outboxProblem = await outboxFileProblem(join(config.state_dir, OUTBOX_FILE));
    if (outboxProblem) problems.push({ path: "state_dir", message: outboxProblem });
  }
  warnings.push(...(await stateModeWarnings(config.state_dir)));
  for (const [id, net] of Object.entries(config.networks)) {
    if (net.type === "onebot11") warnings.push(...onebot11Warnings(id, net));
    if (net.type !== "webqq") continue;
    if (!(await exists(sessionPath(config.state_dir, id)))) {
      warnings.push({ path: `networks.${id}`, message: `no saved session yet: run "pollbridge login ${id}" (or run shows the QR code when it starts)` });
    }
  }
  return { config, problems, warnings };
}

/** Writable, or creatable: the nearest existing ancestor is a writable directory. */
async function stateDirProblem(dir: string): Promise<string | undefined> {
  let at = dir;
  for (;;) {
    try {
      const s = await stat(at);
      if (!s.isDirectory()) return at === dir ? `${dir} exists and is not a directory` : `cannot create ${dir}: ${at} is not a directory`;
      try {
        await access(at, constants.W_OK | constants.X_OK);
      } catch {
        return at === dir ? `${dir} is not writable by this user` : `cannot create ${dir}: ${at} is not writable by this user`;
      }
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") return `cannot use ${dir}: ${(err as Error).message}`;
      const parent = dirname(at);
      if (parent === at) return `cannot create ${dir}`;
      at = parent;
    }
  }
}

/**
 * An outbox that exists is opened exactly as `run` opens it (a directory, a file that is not a
 * database, a file this user cannot write: run would exit 2), then closed. A missing one is
 * created by run in the writable state_dir.
 */
async function outboxFileProblem(path: string): Promise<string | undefined> {
  if (!(await exists(path))) return undefined;
  try {
    await access(path, constants.R_OK | constants.W_OK);
  } catch {
    return `${path} is not writable by this user`;
  }
  try {
    new Outbox(path).close();
    return undefined;
  } catch (err) {
    // The outbox's own error names the file again: say the cause once.
    const cause = (err as Error).cause instanceof Error ? ((err as Error).cause as Error) : (err as Error);
    return `cannot open the outbox ${path}: ${cause.message}`;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The lines `check` prints: problems, then warnings prefixed "warning: ". */
export function problemLines(result: { problems: ConfigProblem[]; warnings: ConfigProblem[] }): string[] {
  return [...result.problems.map(formatProblem), ...result.warnings.map((w) => `warning: ${formatProblem(w)}`)];
}

/** "config OK" and what the bridge will do. */
export function summary(config: Config): string {
  const nets = Object.entries(config.networks).map(([id, n]) => `${id} (${n.type})`);
  const lines = [
    `config OK: ${config.path}`,
    `  xmpp: ${config.xmpp.jid} as "${config.xmpp.nick}"${config.xmpp.service ? ` via ${config.xmpp.service}` : ""}`,
    `  networks: ${nets.join(", ")}`,
    `  bridges: ${config.bridges.length}`,
    ...config.bridges.map((b) => `    ${b.xmpp} <-> ${b.links.map((l) => `${l.network}:${JSON.stringify(l.group)}`).join(", ")}`),
    `  state_dir: ${config.state_dir}`,
  ];
  if (config.metrics) lines.push(`  metrics: http://${config.metrics.listen}/ (status page), /metrics and /healthz${config.metrics.auth ? ` (login: ${config.metrics.auth.user})` : ""}`);
  return lines.join("\n") + "\n";
}
