import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createNetwork } from "../../../bridge/networks/registry.ts";
import type { NetworkConfig } from "../../../bridge/config/types.ts";

const configs: Record<string, NetworkConfig> = {
  webqq: { type: "webqq", send_interval: 100 },
  onebot11: { type: "onebot11", api: "http://127.0.0.1:9", events: "long-poll" },
  onebot12: { type: "onebot12", url: "http://127.0.0.1:9/" },
  telegram: { type: "telegram", token: "123:abc" },
};

for (const [type, config] of Object.entries(configs)) {
  test(`a ${type} entry builds its adapter under the config id, not online before start`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), "pb-registry-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const net = createNetwork("net1", config, { stateDir: dir, logger: pino({ level: "silent" }), groups: ["12345"] });
    assert.equal(net.id, "net1");
    assert.equal(net.type, type);
    assert.ok(net.maxMessageLength > 0);
    assert.equal(net.status().ok, false);
  });
}
