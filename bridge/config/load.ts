// Reads pollbridge.yaml: YAML → ${VAR} substitution → schema → normalized Config.
// Every problem is collected (not just the first) so one `check` run shows them all.

import { open } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { Config, NetworkConfig } from "./types.ts";
import { type ConfigProblem, ConfigError } from "./problems.ts";
import { type Env, interpolate } from "./interpolate.ts";
import { fileSchema, type FileConfig } from "./schema.ts";
import { issueMessage, issuesToProblems } from "./zod-issues.ts";
import { checkBridgeLinks } from "./bridges.ts";
import { inlineSecretWarnings, isSecretKey } from "./secrets.ts";
import { decodeUtf8, MAX_CONFIG_BYTES, parseYaml, tooLargeProblem } from "./yaml-source.ts";
import { xmppTlsProblems, xmppTlsWarnings } from "./xmpp-tls.ts";
import { formatPath, type PathSegment } from "./problems.ts";

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
  const yaml = parseYaml(text);
  if ("problems" in yaml) return { problems: yaml.problems, warnings: [] };
  return parseData(yaml.data, opts);
}

/** The problem reported if checking itself failed: a bug, said without any value of the file. */
export const INTERNAL_PROBLEM = "the config could not be checked (an internal error; please report it)";

/** Validates an already parsed document (what YAML gave); never throws. */
export function parseData(raw: unknown, opts: ParseOptions): ParseResult {
  try {
    return validate(raw, opts);
  } catch {
    return { problems: [{ path: "", message: INTERNAL_PROBLEM }], warnings: [] };
  }
}

function validate(raw: unknown, opts: ParseOptions): ParseResult {
  const path = resolve(opts.path);
  if (raw === null || raw === undefined) return { problems: [{ path: "", message: "the file is empty (see pollbridge.example.yaml)" }], warnings: [] };
  if (typeof raw !== "object" || Array.isArray(raw)) return { problems: [{ path: "", message: "the file must be a mapping of keys (state_dir, xmpp, networks, bridges, ...)" }], warnings: [] };

  const warnings = inlineSecretWarnings(raw, opts.fileMode, basename(path));
  const sub = interpolate(raw, opts.env);
  const problems = [...sub.problems, ...nulProblems(sub.value)];
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
  const config = normalize(parsed.data, links.links, path);
  const tls = xmppTlsProblems(config.xmpp);
  if (tls.length > 0) return { problems: tls, warnings };
  return { config, problems: [], warnings: [...warnings, ...xmppTlsWarnings(config.xmpp)] };
}

/** A NUL (e.g. from "\0" or the environment) in a value: no protocol or file name can carry it. */
function nulProblems(value: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const walk = (v: unknown, at: PathSegment[]): void => {
    if (typeof v === "string") {
      if (v.includes("\0")) {
        const key = at.at(-1);
        out.push({ path: formatPath(at), message: typeof key === "string" && isSecretKey(key) ? "holds a NUL character" : "holds a NUL character (\\0)" });
      }
    } else if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...at, i]));
    else if (v !== null && typeof v === "object") for (const [k, item] of Object.entries(v)) walk(item, [...at, k]);
  };
  walk(value, []);
  return out;
}

/** Reads and validates a file; throws ConfigError listing every problem. */
export async function loadConfig(file: string, env: Env = process.env): Promise<{ config: Config; warnings: ConfigProblem[] }> {
  const path = resolve(file);
  let bytes: Buffer;
  let mode: number;
  try {
    // Size first, from the open file: a giant (or endless, /dev/zero) file is never read whole.
    const fh = await open(path, "r");
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      if (st.size > MAX_CONFIG_BYTES) throw new ConfigError(path, [tooLargeProblem(st.size)]);
      mode = st.mode;
      const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0 || (n += bytesRead) >= buf.length) break;
      }
      if (n > MAX_CONFIG_BYTES) throw new ConfigError(path, [{ path: "", message: `the file is larger than ${MAX_CONFIG_BYTES} bytes (1 MiB), the most a config may be` }]);
      bytes = buf.subarray(0, n);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(path, [{ path: "", message: readErrorMessage(path, err) }]);
  }
  const decoded = decodeUtf8(bytes);
  if ("problem" in decoded) throw new ConfigError(path, [decoded.problem]);
  const result = parseConfig(decoded.text, { path, env, fileMode: mode });
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
      tls: x.tls,
      sasl_mechanism: x.sasl_mechanism,
      max_message_length: x.max_message_length,
      self_ping_interval: x.self_ping_interval,
    }),
    networks: Object.fromEntries(Object.entries(file.networks).map(([id, n]) => [id, compact(n) as NetworkConfig])),
    bridges: file.bridges.map((b, i) => compact({ xmpp: b.xmpp as string, room_password: b.room_password as string | undefined, format: (b.format as string | undefined) ?? DEFAULT_FORMAT, links: links[i]! })),
    relay: compact({ ...file.relay, drain_timeout: file.relay?.drain_timeout ?? DEFAULT_DRAIN_TIMEOUT_MS }),
  };
  if (file.metrics) config.metrics = compact({ listen: file.metrics.listen, auth: file.metrics.auth, insecure_no_auth: file.metrics.insecure_no_auth });
  return config;
}

/** Drops undefined optional keys so the normalized config has only what was set. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
