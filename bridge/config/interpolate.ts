// ${VAR} substitution from the environment, applied to each string scalar AFTER YAML parsing, so
// that a value holding YAML-special characters (": ", "#", quotes) cannot change the document.
//   ${VAR}           the variable's value; a problem when it is not set
//   ${VAR:-default}  the default when the variable is unset or empty
//   $${              a literal "${"

import { type ConfigProblem, type PathSegment, formatPath } from "./problems.ts";

export type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface InterpolateResult {
  value: unknown;
  problems: ConfigProblem[];
}

/** Substitutes in one string; `path` is only used for the problems. */
export function interpolateString(raw: string, env: Env, path: readonly PathSegment[]): { value: string; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  let out = "";
  let i = 0;
  while (i < raw.length) {
    if (raw.startsWith("$${", i)) {
      out += "${";
      i += 3;
      continue;
    }
    if (!raw.startsWith("${", i)) {
      out += raw[i];
      i += 1;
      continue;
    }
    const end = raw.indexOf("}", i + 2);
    if (end < 0) {
      problems.push({ path: formatPath(path), message: 'unterminated "${" (write "$${" for a literal "${")' });
      return { value: out, problems };
    }
    const body = raw.slice(i + 2, end);
    const sep = body.indexOf(":-");
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!NAME.test(name)) {
      problems.push({ path: formatPath(path), message: `invalid variable reference "\${${name}}" (names are letters, digits and _)` });
    } else {
      const val = env[name];
      if (sep >= 0) out += val === undefined || val === "" ? body.slice(sep + 2) : val;
      else if (val === undefined) problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      else out += val;
    }
    i = end + 1;
  }
  return { value: out, problems };
}

/** Walks a parsed YAML value and substitutes in every string scalar (keys are left alone). */
export function interpolate(value: unknown, env: Env, path: PathSegment[] = []): InterpolateResult {
  const problems: ConfigProblem[] = [];
  const walk = (v: unknown, at: PathSegment[]): unknown => {
    if (typeof v === "string") {
      if (!v.includes("${")) return v;
      const r = interpolateString(v, env, at);
      problems.push(...r.problems);
      return r.value;
    }
    if (Array.isArray(v)) return v.map((item, idx) => walk(item, [...at, idx]));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, [...at, k]);
      return out;
    }
    return v;
  };
  return { value: walk(value, path), problems };
}

/** True when the raw (pre-substitution) string takes something from the environment. */
export function referencesEnv(raw: string): boolean {
  return /(^|[^$])\$\{/.test(raw);
}
