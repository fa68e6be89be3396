import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { handleShutdownSignals } from "../../../bridge/cli/signals.ts";

test("the first signal aborts the run, the second exits at once, dispose stops listening", () => {
  const source = new EventEmitter();
  const controller = new AbortController();
  const seen: string[] = [];
  const dispose = handleShutdownSignals(source, controller, { first: (s) => seen.push(`first ${s}`), second: (s) => seen.push(`second ${s}`) });
  assert.equal(controller.signal.aborted, false);
  source.emit("SIGTERM", "SIGTERM");
  assert.equal(controller.signal.aborted, true);
  assert.match(String((controller.signal.reason as Error).message), /SIGTERM/);
  source.emit("SIGINT", "SIGINT");
  assert.deepEqual(seen, ["first SIGTERM", "second SIGINT"]);
  dispose();
  assert.equal(source.listenerCount("SIGINT") + source.listenerCount("SIGTERM"), 0);
});
