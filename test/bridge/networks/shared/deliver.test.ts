import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import type { InboundMessage } from "../../../../bridge/network.ts";
import { deliverWithRetry } from "../../../../bridge/networks/shared/deliver.ts";

const msg: InboundMessage = { id: "g:1", group: "g", senderId: "1", senderName: "a", text: "hi", time: new Date(0) };

function captured(): { logs: string[]; log: pino.Logger } {
  const logs: string[] = [];
  return { logs, log: pino({ level: "debug" }, { write: (l: string) => void logs.push(l) }) };
}

test("a failing sink is retried until it takes the message; each failure is logged once", async () => {
  const { logs, log } = captured();
  let calls = 0;
  const sink = async (m: InboundMessage) => {
    calls++;
    assert.equal(m, msg);
    if (calls < 3) throw new Error("outbox busy");
  };
  await deliverWithRetry(sink, msg, { backoff: { min: 1, max: 2 }, log, network: "net", signal: new AbortController().signal });
  assert.equal(calls, 3);
  const warnings = logs.map((l) => JSON.parse(l) as { msg: string; attempt: number; id: string });
  assert.deepEqual(warnings.map((w) => [w.msg, w.attempt, w.id]), [
    ["net: sink failed; keeping the message and retrying", 1, "g:1"],
    ["net: sink failed; keeping the message and retrying", 2, "g:1"],
  ]);
});

test("an abort ends the retries: the delivery rejects and the sink is not called again", async () => {
  const { log } = captured();
  const ac = new AbortController();
  let calls = 0;
  const failed = Promise.withResolvers<void>();
  const sink = async () => {
    calls++;
    failed.resolve();
    throw new Error("outbox down");
  };
  // A backoff long enough that only the abort can end the wait.
  const done = deliverWithRetry(sink, msg, { backoff: { min: 3_600_000, max: 3_600_000 }, log, network: "net", signal: ac.signal });
  await failed.promise;
  ac.abort(new Error("stopping"));
  await assert.rejects(done);
  assert.equal(calls, 1);
});

test("a sink that fails after the abort: its error is thrown, no retry is logged", async () => {
  const { logs, log } = captured();
  const ac = new AbortController();
  const sink = async () => {
    ac.abort();
    throw new Error("closed under us");
  };
  await assert.rejects(deliverWithRetry(sink, msg, { backoff: { min: 1, max: 2 }, log, network: "net", signal: ac.signal }), /closed under us/);
  assert.deepEqual(logs, []);
});

test("a sink that hangs does not hold the delivery past the abort (stop)", async () => {
  const { log } = captured();
  const ac = new AbortController();
  let called = false;
  const hanging = deliverWithRetry(
    async () => {
      called = true;
      ac.abort(new Error("stopping"));
      await new Promise(() => undefined);
    },
    msg,
    { backoff: { min: 1, max: 2 }, log, network: "net", signal: ac.signal },
  );
  await assert.rejects(hanging, /stopping/);
  assert.ok(called);
});
