import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createNetwork, UnsupportedNetworkError } from "../../../bridge/networks/registry.ts";
import type { NetworkConfig } from "../../../bridge/config/types.ts";

const ctx = (stateDir: string) => ({ stateDir, logger: pino({ level: "silent" }), groups: ["Dev Group"] });

test("a webqq entry builds the WebQQ adapter under its config id", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "pb-registry-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const net = createNetwork("qq", { type: "webqq", send_interval: 100 }, ctx(dir));
  assert.equal(net.id, "qq");
  assert.equal(net.type, "webqq");
  assert.ok(net.maxMessageLength > 0);
  assert.equal(net.status().ok, false, "not logged in before start");
});

for (const type of ["onebot11", "onebot12", "telegram"] as const) {
  test(`a ${type} entry is refused with a clear error`, () => {
    assert.throws(() => createNetwork("ob", { type } as unknown as NetworkConfig, ctx("/nonexistent")), (err: unknown) => {
      assert.ok(err instanceof UnsupportedNetworkError);
      assert.equal(err.message, `network "ob": network type ${type} is not supported yet`);
      return true;
    });
  });
}
