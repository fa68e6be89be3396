// The `type: qqbot` entry of the config: app_id as a number or a string, events ws by default,
// webhook needing its block, the secret never echoed, and the adapter's group keys.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../../../bridge/config/load.ts";
import { formatProblem } from "../../../../bridge/config/problems.ts";
import { configSecrets } from "../../../../bridge/config/secrets.ts";
import { parseTarget } from "../../../../bridge/networks/qqbot/index.ts";

const file = (network: string): string => `
xmpp: { jid: bridge@example.org, password: x }
networks:
  qb: ${network}
bridges:
  - xmpp: dev@conference.example.org
    qb: "group:ABCDEF0123"
`;
const parse = (network: string) => parseConfig(file(network), { path: "/etc/pollbridge/pollbridge.yaml", env: { QQBOT_SECRET: "s3cr3t-value" } });

test("qqbot config: app_id unquoted or quoted, events ws by default, the secret is a secret", () => {
  const r = parse('{ type: qqbot, app_id: 102000001, secret: "${QQBOT_SECRET}" }');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.config!.networks.qb, { type: "qqbot", app_id: "102000001", secret: "s3cr3t-value", events: "ws" });
  assert.ok(configSecrets(r.config!).includes("s3cr3t-value"));
  assert.deepEqual(parse('{ type: qqbot, app_id: "102000001", secret: s, api: "https://sandbox.api.sgroup.qq.com" }').problems, []);
});

test("qqbot config: problems at their paths, the secret never echoed", () => {
  const lines = (n: string) => parse(n).problems.map(formatProblem);
  assert.deepEqual(lines('{ type: qqbot, app_id: 1, secret: "${QQBOT_SECRET}", events: webhook }'), ["networks.qb.webhook: required when events is webhook: { listen: host:port, path?: /callback }"]);
  assert.deepEqual(lines('{ type: qqbot, app_id: 1, secret: x, events: webhook, webhook: { listen: "127.0.0.1:8443", path: /qq } }'), []);
  assert.deepEqual(lines("{ type: qqbot, app_id: 1, secret: x, events: sse }").length, 1);
  const missing = lines("{ type: qqbot, app_id: 1 }");
  assert.equal(missing.length, 1);
  assert.match(missing[0]!, /^networks\.qb\.secret: /);
  assert.deepEqual(lines('{ type: qqbot, app_id: 1, secret: x, colour: red }'), ["networks.qb.colour: unknown key"]);
});

test("group keys: channel:<id> and group:<openid>; anything else is refused with the form to write", () => {
  assert.deepEqual(parseTarget("channel:634560123"), { kind: "channel", id: "634560123", key: "channel:634560123" });
  assert.deepEqual(parseTarget("group:E2F4A0B1C3D5"), { kind: "group", id: "E2F4A0B1C3D5", key: "group:E2F4A0B1C3D5" });
  for (const bad of ["634560123", "channel:", "guild:1", "group:a/b", "channel:1 2"]) assert.match(parseTarget(bad) as string, /channel:<channel_id>/);
});
