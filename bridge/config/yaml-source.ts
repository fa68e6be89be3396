// The config file's text, checked before and around the YAML parser: a size cap (a giant file
// must not take hundreds of MB to parse), UTF-8 only, no control characters YAML forbids, and
// the parse itself with every error worded without quoting the file: any line may hold a secret.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from "yaml";
import { type ConfigProblem, type PathSegment, formatPath } from "./problems.ts";

/** A config is a few KB; 1 MiB is far above any real one. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export function tooLargeProblem(bytes: number): ConfigProblem {
  return { path: "", message: `the file is ${bytes} bytes; a config may be at most ${MAX_CONFIG_BYTES} bytes (1 MiB)` };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The text of a file's bytes, or the problem: not UTF-8 (with the line of the first bad byte). */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { problem: ConfigProblem } {
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          utf8.decode(bytes.subarray(start, i));
        } catch {
          return { problem: { path: `line ${line}`, message: "the file is not valid UTF-8 (save it as UTF-8)" } };
        }
        line++;
        start = i + 1;
      }
    }
    return { problem: { path: "", message: "the file is not valid UTF-8 (save it as UTF-8)" } };
  }
}

// YAML 1.2 c-printable: tab, LF, CR, and no other C0/C1 control character (NUL included).
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A control character YAML does not allow, at its line and column (the character is named by code, not shown). */
export function controlCharProblem(text: string): ConfigProblem | undefined {
  const m = FORBIDDEN.exec(text);
  if (!m) return undefined;
  const before = text.slice(0, m.index);
  const line = before.split("\n").length;
  const col = m.index - before.lastIndexOf("\n");
  const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
  return { path: `line ${line}, column ${col}`, message: `control character U+${code} is not allowed in a config file` };
}

// yaml's messages for these codes quote the file (an escape, a tag, a directive, a character):
// fixed wording instead.
const FIXED: Record<string, string> = {
  BAD_DQ_ESCAPE: "invalid escape sequence in a double-quoted string",
  BAD_SCALAR_START: "a plain value cannot start with @ or ` (quote the value)",
  BAD_DIRECTIVE: "bad % directive",
  TAG_RESOLVE_FAILED: "unknown !tag",
  BAD_COLLECTION_TYPE: "this !tag does not fit the value",
  BAD_PROP_ORDER: "anchors and tags must come after the ? or : indicator",
};
/** Messages known to hold no text of the file (token types and fixed words only). */
const SAFE = /^(Unexpected [a-z-]+ (at node end|token)|Unexpected , in [a-z ]+|Map keys must be unique|Missing closing ["']quote|Tabs are not allowed as indentation|[A-Z][A-Za-z ,]*)$/;

/** yaml's message without anything it quotes from the file. */
export function safeYamlMessage(message: string, code?: string): string {
  if (code && FIXED[code]) return FIXED[code];
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  if (/^Block scalar header/.test(first)) return "block scalar header (| or >) has extra characters";
  const cut = first.split(": ")[0]!.trim();
  return SAFE.test(cut) ? cut : "not valid YAML here";
}

function yamlErrorProblem(err: YAMLError, text: string): ConfigProblem {
  const pos = err.linePos?.[0];
  const line = pos ? (text.split("\n")[pos.line - 1] ?? "") : "";
  // Read (never printed): a ${VAR} inside { } is the usual cause of a flow-mapping error.
  const hint = /\{[^}]*\$\{/.test(line) ? ' (inside { } a ${VAR} must be quoted: "${VAR}")' : "";
  return { path: pos ? `line ${pos.line}, column ${pos.col}` : "", message: `YAML: ${safeYamlMessage(err.message, err.code)}${hint}` };
}

/**
 * What the parsed tree holds that toJS() would turn into something else: "__proto__" keys (they
 * would set an object's prototype, e.g. xmpp.__proto__: {verify_tls: false} took effect),
 * aliases to no anchor (toJS's error quotes the alias name, which may be a secret: *Hunter2pw),
 * and aliases to a mapping or list that contains them (`&a {k: *a}`: toJS makes a circular
 * object, which no config is and every walk over it would follow for ever).
 */
function treeProblems(doc: Document, lines: LineCounter): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const at = (offset: number | undefined) => {
    const p = offset === undefined ? undefined : lines.linePos(offset);
    return p ? `line ${p.line}, column ${p.col}` : "";
  };
  const open: unknown[] = []; // the mappings and lists the walk is inside
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node) || isSeq(node)) open.push(node);
    try {
      walkNode(node, path);
    } finally {
      if (isMap(node) || isSeq(node)) open.pop();
    }
  };
  const walkNode = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (pair.key !== null && !isScalar(pair.key)) {
          // A mapping or list as a key (`? a: b`) would be stringified, text and all: said without it.
          out.push({ path: formatPath(path) || at((pair.key as { range?: number[] }).range?.[0]), message: "a key must be a plain word, not a mapping, list or alias" });
          continue;
        }
        const key = isScalar(pair.key) ? String(pair.key.value) : "";
        if (key === "__proto__") {
          out.push({ path: formatPath([...path, key]), message: '"__proto__" is not allowed as a key' });
          continue;
        }
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
    else if (isAlias(node)) {
      const target = node.resolve(doc);
      const where = formatPath(path);
      const line = where ? ` (${at(node.range?.[0])})` : "";
      if (!target) out.push({ path: where || at(node.range?.[0]), message: `YAML: an alias (*name) refers to no anchor (&name) defined before it${line}` });
      else if (open.includes(target)) out.push({ path: where || at(node.range?.[0]), message: `YAML: an alias (*name) refers to a mapping or list that contains it (a loop)${line}` });
    }
  };
  walk(doc.contents, []);
  return out;
}

/** The document as plain data, or the problems (at most one YAML syntax error: the rest cascade). */
export function parseYaml(text: string): { data: unknown } | { problems: ConfigProblem[] } {
  if (text.length > MAX_CONFIG_BYTES) return { problems: [tooLargeProblem(Buffer.byteLength(text))] };
  const control = controlCharProblem(text);
  if (control) return { problems: [control] };
  const lines = new LineCounter();
  // logLevel "error": yaml's warnings go to process.emitWarning, i.e. stderr, quoting the file.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines, logLevel: "error" });
  if (doc.errors.length > 0) return { problems: [yamlErrorProblem(doc.errors[0]!, text)] };
  const tree = treeProblems(doc, lines);
  if (tree.length > 0) return { problems: tree };
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }) };
  } catch (err) {
    return { problems: [{ path: "", message: `YAML: ${safeYamlMessage((err as Error).message)}` }] };
  }
}
