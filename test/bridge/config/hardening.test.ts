// The config loader against a careless operator and a hostile file: secrets never echoed in YAML
// errors, __proto__ keys, nested defaults, bytes that are not text, a giant file, Telegram ids,
// and xmpp.tls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, loadConfig } from "../../../bridge/config/load.ts";
import { ConfigError, formatProblem } from "../../../bridge/config/problems.ts";
import { interpolateString } from "../../../bridge/config/interpolate.ts";
import { isLoopbackHost } from "../../../bridge/config/loopback.ts";

const BASE = (xmpp: string, extra = "") => `
xmpp:
  jid: bridge@example.org
${xmpp}
networks:
  qq: { type: webqq }
${extra}bridges:
  - { xmpp: dev@conference.example.org, qq: Dev }
`;
const opts = (env: Record<string, string> = {}) => ({ path: "/etc/pollbridge/pollbridge.yaml", env });
const lines = (text: string, env: Record<string, string> = {}) => parseConfig(text, opts(env)).problems.map(formatProblem);

test("YAML errors never show a secret: an alias to no anchor, a block scalar header, a tag", () => {
  for (const [xmpp, where] of [
    ["  password: *Hunter2pw", /^xmpp\.password: YAML: an alias \(\*name\) refers to no anchor \(&name\) defined before it \(line 4, column 13\)$/],
    ["  password: |Hunter2pw\n    more", /^line 4, column \d+: YAML: block scalar header \(\| or >\) has extra characters$/],
    ['  password: "Hunter2\\qpw"', /^line 4, column \d+: YAML: invalid escape sequence in a double-quoted string$/],
    ["  password: @Hunter2pw", /^line 4, column 13: YAML: a plain value cannot start with @ or ` \(quote the value\)$/],
    ["  password: !Hunter2pw x", /^/],
    ["  password: Hunter2pw: x", /^line 4, column \d+: YAML: /],
  ] as const) {
    const text = BASE(xmpp);
    const out = lines(text);
    assert.equal(out.length > 0 || xmpp.includes("!Hunter2pw"), true, xmpp);
    for (const l of out) {
      assert.doesNotMatch(l, /Hunter2|Hunter|2pw/, `${xmpp} → ${l}`);
    }
    if (out.length > 0) assert.match(out[0]!, where, xmpp);
  }
});

test("an alias to a mapping that contains it (a loop) is a problem with its place, not an internal error (found by the config fuzzer)", () => {
  for (const text of ["&a \n<<: *a\npassword: JZZJJZKQXX\n", "xmpp: &x\n  jid: bridge@example.org\n  again: [*x]\n"]) {
    const out = lines(text);
    assert.ok(out.some((l) => /YAML: an alias \(\*name\) refers to a mapping or list that contains it \(a loop\)/.test(l)), `${text} → ${out.join("; ")}`);
    for (const l of out) assert.doesNotMatch(l, /could not be checked|JZZJJ/, l);
  }
});

test("a literal secret holding ${...} never has the fragment echoed; a plain ${VAR} secret names its variable", () => {
  for (const pw of ["ab${zq yv}cd", "pa${zzqqw}x", "x${Hunter2pw:-}y${Z", "${Hunter2pw"]) {
    const out = lines(BASE(`  password: '${pw}'`));
    assert.ok(out.length > 0, pw);
    for (const l of out) assert.ok(!l.includes("zq yv") && !l.includes("zzqqw") && !l.includes("Hunter2pw"), `${pw} → ${l}`);
  }
  assert.deepEqual(lines(BASE("  password: ${XMPP_PASSWORD}")), ["xmpp.password: environment variable XMPP_PASSWORD is not set"]);
  // Not a secret: the name helps and is said.
  assert.deepEqual(lines(BASE("  password: pw\n  nick: ${NICK}")), ["xmpp.nick: environment variable NICK is not set"]);
});

test("a __proto__ key is a problem at its path and never takes effect", () => {
  const text = BASE("  password: pw\n  __proto__: { verify_tls: false }");
  const r = parseConfig(text, opts());
  assert.equal(r.config, undefined);
  assert.deepEqual(r.problems.map(formatProblem), ['xmpp.__proto__: "__proto__" is not allowed as a key']);
  assert.deepEqual(lines('__proto__: { state_dir: /tmp }\n' + BASE("  password: pw")), ['__proto__: "__proto__" is not allowed as a key']);
  assert.deepEqual(lines(BASE("  password: pw", "  extra: { __proto__: 1 }\n").replace("  extra:", "networks2:")), [
    'networks2.__proto__: "__proto__" is not allowed as a key',
  ]);
});

test("defaults nest: ${U:-${B}} takes B, and a default's own problems count only when it is used", () => {
  assert.deepEqual(interpolateString("${U:-${B}}", { B: "b" }, ["k"]), { value: "b", problems: [] });
  assert.deepEqual(interpolateString("${U:-${B:-z}}!", {}, ["k"]), { value: "z!", problems: [] });
  assert.deepEqual(interpolateString("${U:-${B}}", { U: "u" }, ["k"]), { value: "u", problems: [] });
  assert.deepEqual(interpolateString("${U:-a${B}c}", {}, ["k"]).problems.map((p) => p.message), ["environment variable B is not set"]);
  assert.deepEqual(interpolateString("${U:-$${B}}", {}, ["k"]), { value: "${B}", problems: [] });
  assert.match(interpolateString("${U:-${B}", {}, ["k"]).problems[0]!.message, /unterminated/);
  const deep = "${A:-".repeat(12) + "x" + "}".repeat(12);
  assert.match(interpolateString(deep, {}, ["k"]).problems[0]!.message, /nest deeper than 8/);
  const r = parseConfig(BASE("  password: ${P:-${FALLBACK_PW}}"), opts({ FALLBACK_PW: "fb" }));
  assert.equal(r.config?.xmpp.password, "fb");
});

test("bytes that are not UTF-8, a raw NUL, control characters and a giant file are clear problems", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pb-harden-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "p.yaml");
  const load = async () => {
    try {
      await loadConfig(file, {});
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.map(formatProblem);
    }
  };
  writeFileSync(file, Buffer.concat([Buffer.from(BASE("  password: pw").replace("Dev", "D")), Buffer.from([0xff, 0xfe, 0x0a])]));
  assert.deepEqual(await load(), ["line 9: the file is not valid UTF-8 (save it as UTF-8)"]);
  writeFileSync(file, BASE("  password: pw\u0000x"));
  assert.deepEqual(await load(), ["line 4, column 15: control character U+0000 is not allowed in a config file"]);
  writeFileSync(file, BASE("  password: pw\u001bx"));
  assert.deepEqual(await load(), ["line 4, column 15: control character U+001B is not allowed in a config file"]);
  // An escaped NUL makes it into the value: refused there, without echoing a secret.
  writeFileSync(file, BASE('  password: "pw\\0x"'));
  assert.deepEqual(await load(), ["xmpp.password: holds a NUL character"]);
  // 50 MB (sparse: nothing is written): refused from its size, before it is read.
  writeFileSync(file, "");
  truncateSync(file, 50 * 1024 * 1024);
  assert.deepEqual(await load(), [`the file is ${50 * 1024 * 1024} bytes; a config may be at most 1048576 bytes (1 MiB)`]);
  assert.match(lines("a: " + "x".repeat(1024 * 1024 + 1))[0]!, /at most 1048576 bytes/);
});

test("Telegram chat ids: invalid ones are problems; duplicates by case or spaces are the same group", () => {
  const text = (a: string, b: string) => `
xmpp: { jid: bridge@example.org, password: pw }
networks:
  tg: { type: telegram, token: "1:x" }
bridges:
  - { xmpp: a@conference.example.org, tg: ${a} }
  - { xmpp: b@conference.example.org, tg: ${b} }
`;
  assert.deepEqual(lines(text('"-100 123"', '"12abc"')), [
    'bridges[0].tg: not a Telegram chat: a chat id (e.g. "-1001234567890"), an @username, or "chat_id/thread_id"',
    'bridges[1].tg: not a Telegram chat: a chat id (e.g. "-1001234567890"), an @username, or "chat_id/thread_id"',
  ]);
  assert.deepEqual(lines(text('"@MyGroup"', '"@mygroup"')), ['bridges[1].tg: group "@mygroup" of network "tg" is already in bridges[0]']);
  assert.deepEqual(lines(text("-1001234567890", '" -1001234567890 "')), ['bridges[1].tg: group "-1001234567890" of network "tg" is already in bridges[0]']);
  const ok = parseConfig(text('" -1001234567890"', '"-1001234567890/7"'), opts());
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.config?.bridges.map((b) => b.links[0]!.group), ["-1001234567890", "-1001234567890/7"]);
});

test("xmpp.tls: required by default; contradictions are problems; turning TLS or verification down is a warning", () => {
  const r = parseConfig(BASE("  password: pw"), opts());
  assert.equal(r.config?.xmpp.tls, "required");
  assert.deepEqual(r.warnings.filter((w) => w.path.startsWith("xmpp")), []);

  assert.deepEqual(lines(BASE("  password: pw\n  tls: maybe")), ['xmpp.tls: must be one of "required", "opportunistic", "off"']);
  assert.deepEqual(lines(BASE("  password: pw\n  tls: off\n  service: xmpps://example.org:5223")), ["xmpp.tls: off contradicts service xmpps://example.org:5223, which is TLS from the first byte"]);
  assert.match(lines(BASE("  password: pw\n  service: ws://example.org/ws"))[0]!, /^xmpp\.service: ws:\/\/ is never encrypted and xmpp\.tls is required/);
  assert.deepEqual(lines(BASE("  password: pw\n  service: ws://127.0.0.1:5280/ws")), []);

  const warned = parseConfig(BASE("  password: pw\n  verify_tls: ${VERIFY:-false}\n  tls: ${TLS:-opportunistic}"), opts());
  assert.deepEqual(warned.problems, []);
  const w = warned.warnings.map(formatProblem);
  assert.ok(w.some((l) => /^xmpp\.verify_tls: false: the server's certificate is not checked/.test(l)), w.join("\n"));
  assert.ok(w.some((l) => /^xmpp\.tls: opportunistic: the bridge logs in without TLS when the server offers none/.test(l)), w.join("\n"));
  const off = parseConfig(BASE("  password: pw\n  tls: off\n  service: xmpp://127.0.0.1:5222"), opts());
  assert.ok(off.warnings.map(formatProblem).some((l) => /^xmpp\.tls: off: TLS is never used.*harmless on this loopback service/.test(l)));
});

test("loopback is decided on the address as written", () => {
  for (const h of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ["example.org", "192.0.2.2", "::", "128.0.0.1", "localhost.example.org", "vm"]) assert.equal(isLoopbackHost(h), false, h);
});

test("a mapping as a key is a problem without its text, and nothing reaches stderr as a process warning", async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on("warning", onWarning);
  try {
    const out = lines(BASE("  password: pw\n  ? { password: Hunter2pw }\n  : x"));
    assert.deepEqual(out, ["xmpp: a key must be a plain word, not a mapping, list or alias"]);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  } finally {
    process.off("warning", onWarning);
  }
  assert.deepEqual(warnings, []);
});
