import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, loadConfig } from "../../../bridge/config/load.ts";
import { ConfigError, formatProblem } from "../../../bridge/config/problems.ts";

const GOOD = `
state_dir: ./state
log: { level: debug }
metrics: { listen: 127.0.0.1:9464 }
xmpp:
  jid: bridge@example.org
  password: \${XMPP_PASSWORD}
  service: xmpp://127.0.0.1:5222
  nick: qq
networks:
  qq: { type: webqq, endpoints: { ui: "http://127.0.0.1:1/" }, send_interval: "\${SEND_MS:-800}" }
  tg: { type: telegram, token: "\${TG_TOKEN}" }
bridges:
  - xmpp: dev@conference.example.org
    qq: "Dev Group"
    tg: -1001234567890
    format: "[{nick}] {text}"
  - xmpp: ops@conference.example.org
    qq: Ops
`;
const ENV = { XMPP_PASSWORD: "hunter2", TG_TOKEN: "123:abc" };

function lines(text: string, env: Record<string, string> = ENV): string[] {
  return parseConfig(text, { path: "/etc/pollbridge/pollbridge.yaml", env }).problems.map(formatProblem);
}

test("a good file becomes the normalized Config", () => {
  const r = parseConfig(GOOD, { path: "/etc/pollbridge/pollbridge.yaml", env: ENV });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.config, {
    path: "/etc/pollbridge/pollbridge.yaml",
    state_dir: "/etc/pollbridge/state",
    log: { level: "debug" },
    metrics: { listen: "127.0.0.1:9464" },
    xmpp: { jid: "bridge@example.org", password: "hunter2", service: "xmpp://127.0.0.1:5222", nick: "qq", verify_tls: true, tls: "required" },
    networks: { qq: { type: "webqq", endpoints: { ui: "http://127.0.0.1:1/" }, send_interval: 800 }, tg: { type: "telegram", token: "123:abc" } },
    bridges: [
      { xmpp: "dev@conference.example.org", format: "[{nick}] {text}", links: [{ network: "qq", group: "Dev Group" }, { network: "tg", group: "-1001234567890" }] },
      { xmpp: "ops@conference.example.org", format: "<{nick}> {text}", links: [{ network: "qq", group: "Ops" }] },
    ],
    relay: { drain_timeout: 10000 },
  });
});

test("defaults: state_dir ./state, log info, nick pollbridge, verify_tls true", () => {
  const r = parseConfig("xmpp: { jid: a@b.c, password: p }\nnetworks: { qq: { type: webqq } }\nbridges: [{ xmpp: r@muc.b.c, qq: G }]\n", { path: "/x/p.yaml", env: {} });
  assert.equal(r.config?.state_dir, "/x/state");
  assert.deepEqual(r.config?.log, { level: "info" });
  assert.equal(r.config?.xmpp.nick, "pollbridge");
  assert.equal(r.config?.xmpp.verify_tls, true);
});

test("a bridge naming an unknown network is a problem at its path", () => {
  assert.deepEqual(lines(GOOD.replace('qq: "Dev Group"', 'qr: "Dev Group"')), ['bridges[0].qr: no network "qr" (networks: qq, tg)']);
});

test("a missing environment variable is a problem at its path", () => {
  assert.deepEqual(lines(GOOD, { TG_TOKEN: "x" }), ["xmpp.password: environment variable XMPP_PASSWORD is not set"]);
});

test("unknown keys are reported, at every level", () => {
  const text = GOOD.replace("nick: qq", "nick: qq\n  nik: x").replace("log: { level: debug }", "log: { level: debug }\nlogs: {}").replace("type: telegram,", "type: telegram, tokn: 1,");
  assert.deepEqual(lines(text).sort(), ["logs: unknown key", "networks.tg.tokn: unknown key", "xmpp.nik: unknown key"]);
});

test("every problem gets its own line, all reported at once", () => {
  const text = `
log: { level: loud }
metrics: { listen: localhost }
xmpp: { jid: bridge, password: "", service: "http://x", verify_tls: maybe }
networks:
  qq: { type: webqq, send_interval: -1 }
  ob: { type: onebot9 }
  tg: { type: telegram }
bridges:
  - { xmpp: dev@conference.example.org/r, qq: G }
  - { xmpp: ops@conference.example.org, qq: [1] }
  - { xmpp: ops@conference.example.org }
`;
  assert.deepEqual(lines(text).sort(), [
    'bridges[0].xmpp: "dev@conference.example.org/r" must not have a /resource',
    "bridges[1].qq: the group must be a non-empty string or a whole number",
    "bridges[2].xmpp: room ops@conference.example.org is already bridged in bridges[1]",
    'bridges[2]: no group linked: add a network id and its group, e.g. qq: "Dev Group"',
    'log.level: must be one of "trace", "debug", "info", "warn", "error", "fatal", "silent"',
    'metrics.listen: "localhost" is not host:port (e.g. 127.0.0.1:9464 or [::1]:9464)',
    'networks.ob.type: unknown type "onebot9" (expected one of webqq, onebot11, onebot12, telegram, qqbot)',
    "networks.qq.send_interval: must not be negative",
    "networks.tg.token: required",
    'xmpp.jid: "bridge" is not a JID of the form name@domain',
    "xmpp.password: must not be empty",
    "xmpp.service: must be a URL starting with xmpp:// or xmpps:// or ws:// or wss://",
    "xmpp.verify_tls: expected true or false, got a string",
  ]);
});

test("an invalid secret value is never echoed in a problem", () => {
  const text = GOOD.replace("password: ${XMPP_PASSWORD}", "password: [s3cr3t-value]").replace('token: "${TG_TOKEN}"', "token: { x: s3cr3t-tok }");
  const out = lines(text);
  assert.deepEqual(out, ["xmpp.password: expected a string, got a list", "networks.tg.token: expected a string, got a mapping"]);
  assert.ok(!out.join("\n").includes("s3cr3t"));
  const yamlErr = lines('xmpp:\n  password: "s3cr3t-value\n');
  assert.equal(yamlErr.length, 1);
  assert.ok(!yamlErr[0]!.includes("s3cr3t"), yamlErr[0]);
});

test("the same group twice, a huge unquoted id and no bridges are problems; an unused network is a warning", () => {
  const text = GOOD.replace("qq: Ops", 'qq: "Dev Group"').replace("tg: -1001234567890", "tg: 12345678901234567890");
  assert.deepEqual(lines(text), ["bridges[0].tg: this number is too large to be read exactly: quote it", 'bridges[1].qq: group "Dev Group" of network "qq" is already in bridges[0]']);
  assert.deepEqual(lines(GOOD.replace(/bridges:[\s\S]*/, "bridges: []\n")), ["bridges: at least one bridge is required"]);
  const r = parseConfig(GOOD.replace("    tg: -1001234567890\n", ""), { path: "/p.yaml", env: ENV });
  assert.deepEqual(r.warnings, [{ path: "networks.tg", message: "not used by any bridge" }]);
  assert.ok(r.config);
});

test("YAML errors and non-mapping files are problems with a position or a hint", () => {
  assert.deepEqual(lines("a: 1\na: 2\n"), ["line 2, column 1: YAML: Map keys must be unique"]);
  assert.deepEqual(lines(""), ["the file is empty (see pollbridge.example.yaml)"]);
  assert.match(lines("- a\n")[0]!, /must be a mapping/);
});

test("a value from a variable cannot inject YAML structure", () => {
  const r = parseConfig(GOOD, { path: "/p.yaml", env: { ...ENV, XMPP_PASSWORD: "x\nnetworks: {}\nextra: 1 # y" } });
  assert.deepEqual(r.problems, []);
  assert.equal(r.config?.xmpp.password, "x\nnetworks: {}\nextra: 1 # y");
});

test("loadConfig: inline secrets in a file others can read are a warning; a missing file is a clear error", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pb-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "pollbridge.yaml");
  writeFileSync(file, GOOD.replace("${XMPP_PASSWORD}", "inline-pw"));
  chmodSync(file, 0o644);
  const { config, warnings } = await loadConfig(file, ENV);
  assert.equal(config.xmpp.password, "inline-pw");
  assert.deepEqual(warnings.map((w) => w.path), ["xmpp.password"]);
  assert.match(warnings[0]!.message, /mode 0644.*chmod 600 pollbridge\.yaml/);
  assert.ok(!warnings[0]!.message.includes("inline-pw"));

  chmodSync(file, 0o600);
  assert.deepEqual((await loadConfig(file, ENV)).warnings, []);
  writeFileSync(file, GOOD);
  chmodSync(file, 0o644);
  assert.deepEqual((await loadConfig(file, ENV)).warnings, [], "secrets from ${VAR} are not inline");

  await assert.rejects(loadConfig(join(dir, "nope.yaml"), ENV), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.problems[0]!.message, /no such file/);
    return true;
  });
});

test("an unquoted ${VAR} inside { } gets a hint; YAML errors never quote the source", () => {
  assert.deepEqual(lines("networks:\n  tg: { type: telegram, token: ${TG_TOKEN} }\n"), ['line 2, column 33: YAML: Unexpected flow-map-start at node end (inside { } a ${VAR} must be quoted: "${VAR}")']);
  const out = lines("xmpp: { password: s3cr3t } s3cr3t\n");
  assert.ok(!out.join("").includes("s3cr3t"), out.join("\n"));
});

test("a format with an unknown placeholder or without {text} is a warning", () => {
  const r = parseConfig(GOOD.replace('format: "[{nick}] {text}"', 'format: "[{nik}] {txt}"'), { path: "/p.yaml", env: ENV });
  assert.ok(r.config);
  assert.deepEqual(r.warnings.map((w) => `${w.path}: ${w.message}`), [
    "bridges[0].format: unknown placeholder {nik} is sent as is (known: {nick}, {text}, {network}, {group}, {time})",
    "bridges[0].format: unknown placeholder {txt} is sent as is (known: {nick}, {text}, {network}, {group}, {time})",
    "bridges[0].format: has no {text}: relayed lines will not carry the message",
  ]);
});

test("a OneBot 11 network receiving events by webhook needs its webhook block", () => {
  const text = GOOD.replace('  tg: { type: telegram, token: "${TG_TOKEN}" }', '  tg: { type: onebot11, api: "http://127.0.0.1:5700", events: webhook }');
  assert.deepEqual(lines(text), ["networks.tg.webhook: required when events is webhook: { listen: host:port, secret?: ... }"]);
  const ok = text.replace("events: webhook }", 'events: webhook, webhook: { listen: "127.0.0.1:5701" } }');
  assert.deepEqual(lines(ok), []);
});

test("relay.id_map_max_age and relay.media_max_bytes: positive integers, passed through; anything else is a problem at its path", () => {
  const ok = parseConfig(`${GOOD}relay: { id_map_max_age: 86400000, media_max_bytes: "1048576" }\n`, { path: "/etc/pollbridge/pollbridge.yaml", env: ENV });
  assert.deepEqual(ok.problems, []);
  assert.deepEqual([ok.config?.relay?.id_map_max_age, ok.config?.relay?.media_max_bytes], [86400000, 1048576]);
  const bad = lines(`${GOOD}relay: { id_map_max_age: 0, media_max_bytes: -1 }\n`);
  assert.equal(bad.length, 2);
  assert.ok(bad.some((l) => l.startsWith("relay.id_map_max_age:")) && bad.some((l) => l.startsWith("relay.media_max_bytes:")), bad.join("\n"));
});
