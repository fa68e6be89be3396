// The relay: section of pollbridge.yaml (dead letters), as parseConfig reads it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../../bridge/config/load.ts";

const file = (relay: string) =>
  [
    "xmpp: { jid: bridge@example.org, password: pw }",
    "networks: { tg: { type: telegram, token: t } }",
    "bridges: [ { xmpp: room@conference.example.org, tg: '-100' } ]",
    relay,
    "",
  ].join("\n");
const parse = (relay: string, env: Record<string, string> = {}) => parseConfig(file(relay), { path: "/etc/pollbridge/pollbridge.yaml", env });

test("relay.dead_letter_after and dead_letter_notice are read (also from ${VAR}), and absent by default", () => {
  const r = parse('relay: { dead_letter_after: "${DLA}", dead_letter_notice: "true" }', { DLA: "3600000" });
  assert.deepEqual(r.problems, []);
  assert.equal(r.config?.relay?.dead_letter_after, 3_600_000);
  assert.equal(r.config?.relay?.dead_letter_notice, true);
  const d = parse("");
  assert.deepEqual(d.problems, []);
  assert.equal(d.config?.relay?.dead_letter_after, undefined, "the relay's default (24 h) applies");
  assert.equal(d.config?.relay?.dead_letter_notice, undefined);
});

test("a dead_letter_after that is not a positive integer, or a notice that is not a boolean, is a problem at its path", () => {
  const paths = (relay: string) => parse(relay).problems.map((p) => p.path);
  assert.deepEqual(paths("relay: { dead_letter_after: 0 }"), ["relay.dead_letter_after"]);
  assert.deepEqual(paths("relay: { dead_letter_after: soon }"), ["relay.dead_letter_after"]);
  assert.deepEqual(paths("relay: { dead_letter_notice: maybe }"), ["relay.dead_letter_notice"]);
});
