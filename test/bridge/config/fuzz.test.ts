// Property tests over the config loader, from YAML text and from parsed objects: no throw escapes,
// every problem has a path (or is one of the few about the whole file), and no secret value ever
// appears in what check prints. 10 000 runs per property; POLLBRIDGE_FUZZ_RUNS=100000 for more.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { INTERNAL_PROBLEM, parseConfig, parseData } from "../../../bridge/config/load.ts";
import { decodeUtf8 } from "../../../bridge/config/yaml-source.ts";
import { formatProblem, type ConfigProblem } from "../../../bridge/config/problems.ts";

const RUNS = Number(process.env.POLLBRIDGE_FUZZ_RUNS ?? 10_000);
const OPTS = { path: "/etc/pollbridge/pollbridge.yaml", env: { XMPP_PASSWORD: "pw", EMPTY: "", FALSE: "false" } };

/** Problems about the whole file, which have no narrower path. */
const WHOLE_FILE = /^(the file is empty|the file must be a mapping|the file is \d+ bytes|the file is not valid UTF-8|YAML: )/;

// Secrets: letters and digits unlikely in any message, so any 5 characters of one are telling.
const secret = fc.stringMatching(/^[QXZJK][QXZJK0-9]{9,15}$/);
const SECRET_KEYS = ["password", "room_password", "token", "access_token", "secret"];

/** The ways a secret value may be written after a secret key, valid YAML or not. */
const secretForm = (s: string) =>
  fc.constantFrom(
    s, `"${s}"`, `'${s}'`, `*${s}`, `|${s}`, `>${s}`, `|-${s}\n    x`, `!${s} x`, `!!${s} x`, `&${s} x`, `"${s}\\q"`, `"${s}`, `'${s}`,
    `${s}: x`, `[${s}`, `{${s}`, `@${s}`, `\`${s}`, `%${s}`, `${s} #c`, `\${${s}:-x}`, `a\${${s}}b`, `$\${${s}}`, `\${${s}`, `x\${A:-\${${s}}`,
    `"${s}\\0"`, `${s}\t`, `- ${s}`, `? ${s}`, `${s}}`, `"\${${s} y}"`, `{ a: ${s} }`, `[ ${s} ]`,
  );

/** YAML noise placed between lines: indentation, structure and reference characters. */
const noise = fc.constantFrom("", "", "", " ", "  ", "\t", "- ", "? ", ": ", "{", "}", "[", "]", ",", "#", "&a ", "*a", "!t ", "|", ">", "'", '"', "%", "@", "`", "${", "}", "\\", "---", "...", "__proto__: {verify_tls: false}", "<<: *a");

const line = fc.oneof(
  // Noise on a line of its own: glued to the key it would make another key ("\\password"), no
  // longer a secret's (and a non-secret's variable names are said, by design).
  fc.record({ indent: fc.constantFrom("", "  ", "    "), key: fc.constantFrom(...SECRET_KEYS), value: secret.chain(secretForm), noise }).map((l) => ({ text: `${l.indent}${l.key}: ${l.value}`, noise: `${l.noise}\n` })),
  fc.record({ text: fc.constantFrom("xmpp:", "  jid: bridge@example.org", "  service: xmpp://example.org", "  tls: off", "  verify_tls: ${FALSE}", "networks:", "  tg: { type: telegram, token: \"${T:-x}\" }", "  qq: { type: webqq }", "  ob:", "    type: onebot11", "    api: http://127.0.0.1:5700", "    events: webhook", "    webhook: { listen: 0.0.0.0:80 }", "bridges:", "  - xmpp: dev@conference.example.org", "    qq: Dev", "    tg: -100123", "state_dir: ./s", "metrics: { listen: 127.0.0.1:0 }", "relay: { drain_timeout: 1 }", "log: { level: info }", "__proto__:", "  __proto__: 1"), noise }),
  fc.record({ text: fc.string({ maxLength: 20 }), noise }),
);

function secretsOf(text: string): string[] {
  return [...text.matchAll(/[QXZJK][QXZJK0-9]{9,15}/g)].map((m) => m[0]);
}

function assertClean(problems: ConfigProblem[], warnings: ConfigProblem[], secrets: string[], input: string): void {
  const out = [...problems, ...warnings].map(formatProblem).join("\n");
  for (const p of problems) {
    assert.notEqual(p.message, INTERNAL_PROBLEM, `checking threw on:\n${input}`);
    assert.equal(typeof p.path, "string");
    assert.ok(p.path !== "" || WHOLE_FILE.test(p.message), `problem without a path: ${p.message}\n--- input:\n${input}`);
  }
  for (const s of secrets) {
    for (let i = 0; i + 5 <= s.length; i++) {
      const part = s.slice(i, i + 5);
      assert.ok(!out.includes(part), `secret fragment ${part} of ${s} in the output:\n${out}\n--- input:\n${input}`);
    }
  }
}

test(`config text: no throw, problems have paths, no secret in the output (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(fc.array(line, { minLength: 1, maxLength: 25 }), (lines) => {
      const text = lines.map((l) => l.noise + l.text).join("\n") + "\n";
      const r = parseConfig(text, OPTS);
      assertClean(r.problems, r.warnings, secretsOf(text), text);
      assert.equal(({} as Record<string, unknown>).verify_tls, undefined, "Object.prototype was polluted");
    }),
    { numRuns: RUNS },
  );
});

/** A valid config object to mutate. */
const base = (): Record<string, unknown> => ({
  xmpp: { jid: "bridge@example.org", password: "${XMPP_PASSWORD}" },
  networks: { qq: { type: "webqq" }, tg: { type: "telegram", token: "t" } },
  bridges: [{ xmpp: "dev@conference.example.org", qq: "Dev", tg: "-100123" }],
});

const leaf = fc.oneof(fc.anything({ maxDepth: 1, maxKeys: 3, withNullPrototype: true, withObjectString: true }), fc.constantFrom("${", "${A:-${B}}", "$${x}", "\u0000", "__proto__", -0, Number.NaN, 2 ** 60));
const pathSeg = fc.oneof(fc.constantFrom("xmpp", "networks", "bridges", "qq", "tg", "ob", "type", "__proto__", "constructor", "password", "token", "verify_tls", "tls", "service", "jid", "state_dir", "metrics", "listen", "relay", "webhook", "events", "secret", "0", "1"), fc.string({ maxLength: 4 }));

test(`parsed objects: no throw, problems have paths, no secret in the output (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ path: fc.array(pathSeg, { minLength: 1, maxLength: 4 }), value: leaf }), { maxLength: 6 }),
      fc.array(fc.record({ path: fc.array(pathSeg, { maxLength: 3 }), key: fc.constantFrom(...SECRET_KEYS), s: secret, form: fc.constantFrom("raw", "ref", "frag", "list") }), { maxLength: 3 }),
      (edits, secrets) => {
        const doc = base();
        const set = (path: string[], value: unknown) => {
          let at: Record<string, unknown> = doc;
          for (const seg of path.slice(0, -1)) {
            const next = Object.hasOwn(at, seg) ? at[seg] : undefined;
            if (next === null || typeof next !== "object") Object.defineProperty(at, seg, { value: {}, enumerable: true, writable: true, configurable: true });
            at = at[seg] as Record<string, unknown>;
          }
          Object.defineProperty(at, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
        };
        for (const e of edits) set(e.path, e.value);
        for (const s of secrets) {
          const value = s.form === "raw" ? s.s : s.form === "ref" ? `\${A:-${s.s}}` : s.form === "frag" ? `x\${${s.s} y}` : [s.s];
          set([...s.path, s.key], value);
        }
        const input = JSON.stringify(doc);
        const r = parseData(doc, OPTS);
        assertClean(r.problems, r.warnings, secrets.map((s) => s.s), input);
        assert.equal(({} as Record<string, unknown>).verify_tls, undefined, "Object.prototype was polluted");
      },
    ),
    { numRuns: RUNS },
  );
});

test(`file bytes: any bytes decode or are a clear problem (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const r = decodeUtf8(bytes);
      if ("problem" in r) assert.match(r.problem.message, /not valid UTF-8/);
      else parseConfig(r.text, OPTS); // no throw
    }),
    { numRuns: RUNS },
  );
});
