// ${VAR} substitution from the environment, applied to each string scalar AFTER YAML parsing, so
// that a value holding YAML-special characters (": ", "#", quotes) cannot change the document.
//   ${VAR}           the variable's value; a problem when it is not set
//   ${VAR:-default}  the default when the variable is unset or empty; the default may itself
//                    hold references: ${A:-${B:-x}}
//   $${              a literal "${"
// Messages never quote the text of a value: inside a secret, a "${...}" may be part of a literal
// password, so there the variable's name is given only when the whole value is one reference.

import { type ConfigProblem, type PathSegment, formatPath } from "./problems.ts";
import { isSecretKey } from "./secrets.ts";

export type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** How deep defaults may nest; deeper is a problem (it cannot be a real need). */
const MAX_DEPTH = 8;

export interface InterpolateResult {
  value: unknown;
  problems: ConfigProblem[];
}

interface Scan {
  out: string;
  /** Index of the "}" that closed a default, or raw.length. */
  end: number;
  problems: string[];
  /** A "${" or a default was never closed. */
  unterminated: boolean;
  tooDeep?: boolean;
}

/** Expands raw from i; inside a default (depth > 0) stops at its closing "}". */
function scan(raw: string, i: number, env: Env, depth: number, names: boolean): Scan {
  const problems: string[] = [];
  let out = "";
  while (i < raw.length) {
    if (depth > 0 && raw[i] === "}") return { out, end: i, problems, unterminated: false };
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
    let j = i + 2;
    while (j < raw.length && raw[j] !== "}" && !raw.startsWith(":-", j)) j++;
    if (j >= raw.length) return { out, end: raw.length, problems, unterminated: true };
    const name = raw.slice(i + 2, j);
    let fallback: Scan | undefined;
    let next = j + 1;
    if (raw.startsWith(":-", j)) {
      if (depth + 1 > MAX_DEPTH) return { out, end: raw.length, problems, unterminated: false, tooDeep: true };
      fallback = scan(raw, j + 2, env, depth + 1, names);
      if (fallback.tooDeep) return fallback;
      if (fallback.unterminated) return { out, end: raw.length, problems: [...problems, ...fallback.problems], unterminated: true };
      next = fallback.end + 1;
    }
    if (!NAME.test(name)) {
      problems.push('invalid variable reference: names are letters, digits and _ (write "$${" for a literal "${")');
    } else {
      const val = env[name];
      if (fallback) {
        // A default's own problems count only when the default is used.
        if (val === undefined || val === "") {
          out += fallback.out;
          problems.push(...fallback.problems);
        } else out += val;
      } else if (val === undefined) problems.push(names ? `environment variable ${name} is not set` : 'a "${...}" reference in this secret names an environment variable that is not set (write "$${" for a literal "${")');
      else out += val;
    }
    i = next;
  }
  return { out, end: raw.length, problems, unterminated: depth > 0 };
}

/**
 * Substitutes in one string; `path` is only used for the problems. `secret`: the value is a
 * secret, so a variable's name is only said when the whole value is one plain reference.
 */
export function interpolateString(raw: string, env: Env, path: readonly PathSegment[], secret = false): { value: string; problems: ConfigProblem[] } {
  const names = !secret || /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(raw);
  const r = scan(raw, 0, env, 0, names);
  // Unterminated: what was read inside is not what the author meant; that one problem says it.
  const messages = r.tooDeep ? [`defaults nest deeper than ${MAX_DEPTH} levels`] : r.unterminated ? ['unterminated "${" (write "$${" for a literal "${")'] : r.problems;
  return { value: r.out, problems: [...new Set(messages)].map((message) => ({ path: formatPath(path), message })) };
}

/** Walks a parsed YAML value and substitutes in every string scalar (keys are left alone). */
export function interpolate(value: unknown, env: Env, path: PathSegment[] = []): InterpolateResult {
  const problems: ConfigProblem[] = [];
  const walk = (v: unknown, at: PathSegment[]): unknown => {
    if (typeof v === "string") {
      if (!v.includes("${")) return v;
      const key = at.at(-1);
      const r = interpolateString(v, env, at, typeof key === "string" && isSecretKey(key));
      problems.push(...r.problems);
      return r.value;
    }
    if (Array.isArray(v)) {
      // A plain loop: map() would consult the array's own "constructor" (species).
      const out: unknown[] = [];
      for (let idx = 0; idx < v.length; idx++) out.push(walk(v[idx], [...at, idx]));
      return out;
    }
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      // defineProperty: a key "__proto__" stays an own key (and an unknown-key problem), never the prototype.
      for (const [k, item] of Object.entries(v)) Object.defineProperty(out, k, { value: walk(item, [...at, k]), enumerable: true, writable: true, configurable: true });
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
