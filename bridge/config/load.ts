// Reads pollbridge.yaml: YAML → ${VAR} substitution → schema → normalized Config.
// Every problem is collected (not just the first) so one `check` run shows them all.

import { readFile, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { parseDocument, type YAMLError } from "yaml";
import type { Config, NetworkConfig } from "./types.ts";
import { type ConfigProblem, ConfigError } from "./problems.ts";
import { type Env, interpolate } from "./interpolate.ts";
import { fileSchema, type FileConfig } from "./schema.ts";
import { issueMessage, issuesToProblems } from "./zod-issues.ts";
import { checkBridgeLinks } from "./bridges.ts";
import { inlineSecretWarnings } from "./secrets.ts";

export const DEFAULT_FORMAT = "<{nick}> {text}";
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export interface ParseOptions {
  /** Path of the file (resolved to absolute); state_dir is relative to its folder. */
  path: string;
  env: Env;
  /** st_mode of the file, for the "readable by others while holding inline secrets" warning. */
  fileMode?: number;
}

export interface ParseResult {
  /** Set only when there is no problem. */
  config?: Config;
  problems: ConfigProblem[];
  warnings: ConfigProblem[];
}

/** Parses and validates config text; never throws for bad input. */
export function parseConfig(text: string, opts: ParseOptions): ParseResult {
  const path = resolve(opts.path);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { problems: [yamlProblem(doc.errors[0]!, text)], warnings: [] };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { problems: [{ path: "", message: `YAML: ${(err as Error).message.split("\n")[0]}` }], warnings: [] };
  }
  if (raw === null || raw === undefined) return { problems: [{ path: "", message: "the file is empty (see pollbridge.example.yaml)" }], warnings: [] };
  if (typeof raw !== "object" || Array.isArray(raw)) return { problems: [{ path: "", message: "the file must be a mapping of keys (state_dir, xmpp, networks, bridges, ...)" }], warnings: [] };

  const warnings = inlineSecretWarnings(raw, opts.fileMode, basename(path));
  const sub = interpolate(raw, opts.env);
  const problems = [...sub.problems];
  const data = sub.value as Record<string, unknown>;

  const links = checkBridgeLinks(data.bridges, data.networks);
  problems.push(...links.problems);
  warnings.push(...links.warnings);

  const parsed = fileSchema.safeParse(data, { error: issueMessage });
  if (!parsed.success) {
    // A missing ${VAR} already has its own line; its "must not be empty" echo is noise.
    const seen = new Set(problems.map((p) => p.path));
    for (const p of issuesToProblems(parsed.error.issues)) if (!seen.has(p.path)) problems.push(p);
  }
  if (problems.length > 0 || !parsed.success) return { problems: sortProblems(problems), warnings };
  return { config: normalize(parsed.data, links.links, path), problems: [], warnings };
}

/** Reads and validates a file; throws ConfigError listing every problem. */
export async function loadConfig(file: string, env: Env = process.env): Promise<{ config: Config; warnings: ConfigProblem[] }> {
  const path = resolve(file);
  let text: string;
  let mode: number;
  try {
    [text, mode] = await Promise.all([readFile(path, "utf8"), stat(path).then((s) => s.mode)]);
  } catch (err) {
    throw new ConfigError(path, [{ path: "", message: readErrorMessage(path, err) }]);
  }
  const result = parseConfig(text, { path, env, fileMode: mode });
  if (!result.config) throw new ConfigError(path, result.problems);
  return { config: result.config, warnings: result.warnings };
}

function readErrorMessage(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `cannot read ${path}: no such file (copy pollbridge.example.yaml there, or pass -c FILE)`;
  if (code === "EACCES") return `cannot read ${path}: permission denied`;
  if (code === "EISDIR") return `cannot read ${path}: it is a directory`;
  return `cannot read ${path}: ${(err as Error).message}`;
}

/**
 * The first YAML error only (the rest cascade from it), worded without quoting the source: yaml's
 * messages quote tokens and lines, and those may be a secret.
 */
function yamlProblem(err: YAMLError, text: string): ConfigProblem {
  const pos = err.linePos?.[0];
  const first = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").replace(/:\s*".*$/, "");
  const line = pos ? (text.split("\n")[pos.line - 1] ?? "") : "";
  const hint = /\{[^}]*\$\{/.test(line) ? ' (inside { } a ${VAR} must be quoted: "${VAR}")' : "";
  return { path: pos ? `line ${pos.line}, column ${pos.col}` : "", message: `YAML: ${first}${hint}` };
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function normalize(file: FileConfig, links: Config["bridges"][number]["links"][], path: string): Config {
  const x = file.xmpp;
  const config: Config = {
    path,
    state_dir: resolve(dirname(path), file.state_dir),
    log: file.log.format ? { level: file.log.level, format: file.log.format } : { level: file.log.level },
    xmpp: compact({
      jid: x.jid,
      password: x.password,
      service: x.service,
      nick: x.nick,
      verify_tls: x.verify_tls,
      sasl_mechanism: x.sasl_mechanism,
      max_message_length: x.max_message_length,
      self_ping_interval: x.self_ping_interval,
    }),
    networks: Object.fromEntries(Object.entries(file.networks).map(([id, n]) => [id, compact(n) as NetworkConfig])),
    bridges: file.bridges.map((b, i) => compact({ xmpp: b.xmpp as string, room_password: b.room_password as string | undefined, format: (b.format as string | undefined) ?? DEFAULT_FORMAT, links: links[i]! })),
    relay: compact({ ...file.relay, drain_timeout: file.relay?.drain_timeout ?? DEFAULT_DRAIN_TIMEOUT_MS }),
  };
  if (file.metrics) config.metrics = { listen: file.metrics.listen };
  return config;
}

/** Drops undefined optional keys so the normalized config has only what was set. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
