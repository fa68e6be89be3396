// Zod issues → "path: message" problems. Messages name types and allowed values, never the
// offending input: it may be a secret (an invalid xmpp.password must not be echoed).

import type * as z from "zod";
import { type ConfigProblem, type PathSegment, formatPath } from "./problems.ts";

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

const EXPECTED: Record<string, string> = { object: "a mapping", array: "a list", string: "a string", number: "a number", boolean: "true or false" };

/** Error map passed to safeParse: sees the raw issue (with its input) and words it safely. */
export const issueMessage: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return "required";
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${kind(iss.input)}`;
    case "invalid_union": {
      const disc = (iss as { discriminator?: string; options?: unknown[] }).discriminator;
      const options = (iss as { options?: unknown[] }).options ?? [];
      if (disc) {
        const value = (iss.input as Record<string, unknown> | undefined)?.[disc];
        const list = options.join(", ");
        if (value === undefined) return `required: one of ${list}`;
        return typeof value === "string" ? `unknown ${disc} ${JSON.stringify(value)} (expected one of ${list})` : `${disc} must be one of ${list}, got ${kind(value)}`;
      }
      return undefined;
    }
    case "invalid_value":
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      if (iss.origin === "string" && iss.minimum === 1) return "must not be empty";
      if (iss.origin === "number") return iss.minimum === 0 ? "must not be negative" : `must be at least ${iss.minimum}${iss.inclusive === false ? " (exclusive)" : ""}`;
      return undefined;
    case "not_multiple_of":
      return "must be a whole number";
    default:
      return undefined;
  }
};

export function issuesToProblems(issues: readonly z.core.$ZodIssue[], prefix: readonly PathSegment[] = []): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const iss of issues) {
    const path = [...prefix, ...(iss.path.filter((p) => typeof p !== "symbol") as PathSegment[])];
    if (iss.code === "unrecognized_keys") {
      for (const key of iss.keys) out.push({ path: formatPath([...path, key]), message: "unknown key" });
    } else if (iss.code === "invalid_type" && iss.expected === "int") {
      out.push({ path: formatPath(path), message: "must be a whole number" });
    } else {
      out.push({ path: formatPath(path), message: iss.message });
    }
  }
  return out;
}
