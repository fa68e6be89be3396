// The bridge's logger: pino, JSON to stderr (sync) when not a TTY, pino-pretty in-thread on a TTY.
// Secrets are removed three ways, because pino's redact paths match fixed depths only:
//   1. redact paths for the known shapes (src/redact.ts: headers, password/token keys),
//   2. a deep walk that censors secret-named keys at any depth,
//   3. a scrub of the final serialized line: every configured secret (raw, JSON- and
//      URL-encoded), URL credentials, Telegram's /bot<token>/ and token-like query parameters.
//      (src/redact.ts's redactText re-encodes URLs, which can break the JSON of a line.)

import { isatty } from "node:tty";
import { pino, type Logger, type DestinationStream } from "pino";
import pretty from "pino-pretty";
import type { LogLevel } from "./config/types.ts";
import { redactPaths } from "../src/redact.ts";

export type { Logger };

export interface LoggerOptions {
  level: LogLevel;
  /** Default: pretty when the destination is a TTY, JSON otherwise. */
  format?: "pretty" | "json";
  /** A file descriptor or a stream; default 2 (stderr), so stdout stays free for command output. */
  destination?: NodeJS.WritableStream | number;
  /** Values that must never appear in a log line (the config's password and tokens). */
  secrets?: string[];
}

export const CENSOR = "[Redacted]";

const SECRET_KEY = /^(password|passwd|room_password|secret|token|access_token|refresh_token|cookie|set-cookie|authorization|proxy-authorization|psessionid|ptwebqq|vfwebqq|skey|p_skey|clientid)$/i;
const SECRET_PARAM = /([?&;](?:[\w-]*(?:token|password|passwd|secret|session|skey|sig)[\w-]*|psessionid|ptwebqq|vfwebqq)=)[^&\s"'#;\\]+/gi;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"']*):[^@\s/"']+@/gi;
const TELEGRAM_TOKEN = /\/bot\d+:[\w-]+/g;

/** Censors secret-named keys at any depth; copies only plain objects and arrays (errors keep their serializer). */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== "object" || depth > 10 || seen.has(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    seen.add(value);
    return value.map((v) => redactDeep(v, depth + 1, seen));
  }
  if (proto !== Object.prototype && proto !== null) return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null ? CENSOR : redactDeep(v, depth + 1, seen);
  return out;
}

/** Returns a function that removes every secret and credential pattern from a finished line. */
export function lineScrubber(secrets: readonly string[] = []): (line: string) => string {
  const variants = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    variants.add(s);
    variants.add(JSON.stringify(s).slice(1, -1));
    variants.add(encodeURIComponent(s));
    variants.add(JSON.stringify(encodeURIComponent(s)).slice(1, -1));
  }
  const ordered = [...variants].sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const v of ordered) if (out.includes(v)) out = out.replaceAll(v, CENSOR);
    return out.replace(URL_CREDENTIALS, `$1:${CENSOR}@`).replace(TELEGRAM_TOKEN, `/bot${CENSOR}`).replace(SECRET_PARAM, `$1${CENSOR}`);
  };
}

function isTTY(destination: NodeJS.WritableStream | number): boolean {
  if (typeof destination === "number") return destination === 2 ? process.stderr.isTTY === true : destination === 1 ? process.stdout.isTTY === true : isatty(destination);
  return (destination as { isTTY?: boolean }).isTTY === true;
}

/** Each logger's way to learn new secrets (see addLogSecrets). */
const rescrub = new WeakMap<Logger, (secrets: readonly string[]) => void>();

/** A reload brought new secrets: this logger (and its children) scrubs them from now on, besides the old ones. */
export function addLogSecrets(logger: Logger, secrets: readonly string[]): void {
  rescrub.get(logger)?.(secrets);
}

export function createLogger(opts: LoggerOptions): Logger {
  const destination = opts.destination ?? 2;
  const tty = isTTY(destination);
  const format = opts.format ?? (tty ? "pretty" : "json");
  let secrets = [...(opts.secrets ?? [])];
  let scrub = lineScrubber(secrets);
  const stream: DestinationStream =
    format === "pretty"
      ? pretty({ sync: true, destination: destination as NodeJS.WritableStream, colorize: tty, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" })
      : typeof destination === "number"
        ? pino.destination({ dest: destination, sync: true })
        : (destination as DestinationStream);
  const logger = pino(
    {
      level: opts.level,
      redact: { paths: redactPaths, censor: CENSOR },
      formatters: {
        log: (obj) => redactDeep(obj) as Record<string, unknown>,
        bindings: (b) => redactDeep(b) as Record<string, unknown>,
      },
      serializers: { err: pino.stdSerializers.err },
      hooks: { streamWrite: (line) => scrub(line) },
    },
    stream,
  );
  rescrub.set(logger, (more) => {
    secrets = [...new Set([...secrets, ...more])];
    scrub = lineScrubber(secrets);
  });
  return logger;
}
