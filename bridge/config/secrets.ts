// Which config values are secrets: for the logger's scrubber and the inline-secret warning.

import type { Config } from "./types.ts";
import { type ConfigProblem, type PathSegment, formatPath } from "./problems.ts";
import { referencesEnv } from "./interpolate.ts";

const SECRET_KEY = /^(password|room_password|access_token|token|secret)$/;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Every secret string of a loaded config (xmpp password, room passwords, network tokens). */
export function configSecrets(config: Config): string[] {
  const found = new Set<string>();
  const walk = (v: unknown, key: string): void => {
    if (typeof v === "string") {
      if (isSecretKey(key) && v !== "") found.add(v);
    } else if (Array.isArray(v)) v.forEach((item) => walk(item, key));
    else if (v !== null && typeof v === "object") for (const [k, item] of Object.entries(v)) walk(item, k);
  };
  walk(config, "");
  return [...found];
}

/** Paths of secrets written literally in the raw (pre-substitution) document. */
export function inlineSecretPaths(raw: unknown): string[] {
  const paths: string[] = [];
  const walk = (v: unknown, at: PathSegment[]): void => {
    const key = at.at(-1);
    if (typeof v === "string" || typeof v === "number") {
      if (typeof key === "string" && isSecretKey(key) && !(typeof v === "string" && referencesEnv(v)) && v !== "") paths.push(formatPath(at));
    } else if (Array.isArray(v)) v.forEach((item, i) => walk(item, [...at, i]));
    else if (v !== null && typeof v === "object") for (const [k, item] of Object.entries(v)) walk(item, [...at, k]);
  };
  walk(raw, []);
  return paths;
}

/** The warning for a file others can read that holds inline secrets ("" when there is none). */
export function inlineSecretWarnings(raw: unknown, fileMode: number | undefined, fileName: string): ConfigProblem[] {
  if (fileMode === undefined || (fileMode & 0o044) === 0) return [];
  const mode = (fileMode & 0o777).toString(8).padStart(4, "0");
  return inlineSecretPaths(raw).map((path) => ({
    path,
    message: `secret written inline in a file others can read (mode ${mode}): use \${VAR} from the environment, or chmod 600 ${fileName}`,
  }));
}
