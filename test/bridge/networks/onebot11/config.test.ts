// The onebot11 entry of pollbridge.yaml: each transport's keys, at their paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../../../bridge/config/load.ts";

const problems = (network: string): string[] =>
  parseConfig(
    ["xmpp: { jid: b@example.org, password: pw }", "networks:", `  ob: ${network}`, "bridges: [{ xmpp: r@conference.example.org, ob: 1 }]"].join("\n"),
    { path: "/tmp/pollbridge.yaml", env: {} },
  ).problems.map((p) => `${p.path}: ${p.message}`);

test("onebot11 config: ws and ws-reverse need their address, not api; HTTP transports need api; tokens and paths", () => {
  assert.deepEqual(problems('{ type: onebot11, events: ws, ws: "ws://127.0.0.1:3001" }'), []);
  assert.deepEqual(problems('{ type: onebot11, events: ws-reverse, ws_reverse: { listen: "127.0.0.1:8080", path: /onebot/v11/ws } }'), []);
  assert.match(problems("{ type: onebot11, events: ws }")[0]!, /^networks\.ob\.ws: required when events is ws/);
  assert.match(problems('{ type: onebot11, events: ws, ws: "http://127.0.0.1:3001" }')[0]!, /^networks\.ob\.ws: must be a URL starting with ws:\/\/ or wss:\/\//);
  assert.match(problems("{ type: onebot11, events: ws-reverse }")[0]!, /^networks\.ob\.ws_reverse: required/);
  assert.match(problems('{ type: onebot11, events: ws-reverse, ws_reverse: { listen: "127.0.0.1:8080", path: x } }')[0]!, /^networks\.ob\.ws_reverse\.path: must start with \//);
  assert.match(problems("{ type: onebot11, events: long-poll }")[0]!, /^networks\.ob\.api: required when events is long-poll/);
  assert.match(problems('{ type: onebot11, events: ws-reverse, ws_reverse: { listen: "0.0.0.0:8080" } }')[0]!, /^networks\.ob\.access_token: required when ws_reverse listens beyond loopback/);
  assert.deepEqual(problems('{ type: onebot11, access_token: t, events: ws-reverse, ws_reverse: { listen: "0.0.0.0:8080" } }'), []);
  assert.deepEqual(problems('{ type: onebot11, api: "http://127.0.0.1:5700", events: webhook, webhook: { listen: "0.0.0.0:5701", secret: "" } }'), [
    "networks.ob.webhook.secret: is empty: an empty secret would turn signature checking off; set it (NapCat signs with its access token) or remove the key",
  ]);
});
