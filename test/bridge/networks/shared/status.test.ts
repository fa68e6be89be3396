import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import type { NetworkStatus } from "../../../../bridge/network.ts";
import { StatusHolder } from "../../../../bridge/networks/shared/status.ts";

test("a status starts stopped, is ok only online, tells listeners of each change once, and logs it", () => {
  const logs: string[] = [];
  const status = new StatusHolder({ log: pino({ level: "info" }, { write: (l: string) => void logs.push(l) }), network: "net" });
  const seen: NetworkStatus[] = [];
  status.onStatus((s) => seen.push(s));
  assert.deepEqual(status.get(), { ok: false, state: "stopped" });
  status.set("starting");
  status.set("online");
  status.set("online");
  status.set("retrying", "502");
  status.set("retrying", "502");
  status.set("retrying", "503");
  assert.deepEqual(seen, [
    { ok: false, state: "starting" },
    { ok: true, state: "online" },
    { ok: false, state: "retrying", detail: "502" },
    { ok: false, state: "retrying", detail: "503" },
  ]);
  assert.deepEqual(status.get(), seen.at(-1));
  assert.equal(logs.length, 4);
  assert.deepEqual(JSON.parse(logs[2]!).msg, "net status");
});

test("redact applies to the kept detail and to the log line", () => {
  const logs: string[] = [];
  const status = new StatusHolder({
    log: pino({ level: "info" }, { write: (l: string) => void logs.push(l) }),
    network: "net",
    redact: (d) => d.replaceAll("s3cret", "[redacted]"),
  });
  status.set("auth-failed", "token s3cret refused");
  assert.equal(status.get().detail, "token [redacted] refused");
  assert.ok(!logs.join("").includes("s3cret"));
  assert.equal(JSON.parse(logs[0]!).detail, "token [redacted] refused");
});
