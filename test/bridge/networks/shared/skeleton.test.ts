import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { SendError, type InboundMessage, type NetworkStatus } from "../../../../bridge/network.ts";
import { NetworkSkeleton, type SkeletonOptions } from "../../../../bridge/networks/shared/skeleton.ts";

type Line = { level: number; msg: string; retryIn?: number; detail?: string; why?: string; id?: string; repeated?: number };

function skeleton(o: Partial<SkeletonOptions> = {}): { net: NetworkSkeleton; logs: Line[]; seen: NetworkStatus[] } {
  const logs: Line[] = [];
  const logger = pino({ level: "debug" }, { write: (l: string) => void logs.push(JSON.parse(l) as Line) });
  const net = new NetworkSkeleton({ id: "n1", type: "net", logger, retry: { minTimeout: 1, maxTimeout: 2 }, auth: { base: 1, cap: 4 }, ...o });
  const seen: NetworkStatus[] = [];
  net.base.onStatus!((s) => seen.push(s));
  return { net, logs, seen };
}

class AuthRefused extends Error {}

test("supervise: a refused credential waits long and doubling, other failures short; a session that connects resets both; stop ends it", async () => {
  const { net, logs, seen } = skeleton({ redact: (d) => d.replaceAll("s3cret", "[REDACTED]") });
  const script = ["auth", "auth", "down", "connect", "auth", "connect-and-park"];
  const ended = Promise.withResolvers<void>();
  net.starting();
  net.run(() =>
    net.supervise(
      async () => {
        const step = script.shift();
        if (step === "auth") throw new AuthRefused("token s3cret refused");
        if (step === "down") throw new Error("ECONNREFUSED");
        net.failures.ok();
        net.setStatus("online");
        if (step === "connect") return 0; // the session ended (a relogin): at once again
        await new Promise((resolve) => net.signal.addEventListener("abort", resolve, { once: true }));
        ended.resolve();
        return 0;
      },
      (err) => (err instanceof AuthRefused ? { auth: (err as Error).message } : { state: "offline", detail: (err as Error).message, what: "connect" }),
    ),
  );
  await new Promise<void>((resolve) => net.base.onStatus!((s) => s.state === "online" && script.length === 0 && resolve()));
  await net.stop();
  await ended.promise;
  assert.deepEqual(
    seen.map((s) => s.state),
    ["starting", "auth-failed", "offline", "online", "auth-failed", "online", "stopped"],
  );
  assert.equal(seen[1]!.detail, "token [REDACTED] refused");
  // Long waits double while refusals go on (1, 2), and start from the base again after a connect.
  assert.deepEqual(logs.filter((l) => l.level === 50).map((l) => l.retryIn), [1, 2, 1]);
  assert.ok(logs.every((l) => !JSON.stringify(l).includes("s3cret")));
  assert.ok(logs.some((l) => l.msg === "net: connect failed; retrying" && l.detail === "ECONNREFUSED"));
});

test("stop waits for the work under way, then closes, then says stopped; a late status after it is dropped", async () => {
  const { net, seen } = skeleton();
  const order: string[] = [];
  net.starting();
  net.run(async () => {
    await new Promise((resolve) => net.signal.addEventListener("abort", resolve, { once: true }));
    await Promise.resolve(); // some work after the abort: stop() must still wait for it
    order.push("work ended");
  });
  await net.stop(async () => void order.push("closed"));
  assert.deepEqual(order, ["work ended", "closed"]);
  net.setStatus("online");
  assert.deepEqual(net.current(), { ok: false, state: "stopped" });
  assert.equal(seen.at(-1)!.state, "stopped");
});

test("stop is bounded: work that ignores the signal does not hold it; it is logged and the close still runs", async () => {
  const { net, logs } = skeleton({ stopTimeoutMs: 10 });
  net.starting();
  net.run(() => new Promise<void>(() => undefined)); // never ends
  let closed = false;
  await net.stop(async () => void (closed = true));
  assert.ok(closed);
  assert.equal(net.current().state, "stopped");
  assert.ok(logs.some((l) => l.msg === "net: work still under way at stop; closing anyway"));
});

test("a second start is refused; work failing on its own is status failed (redacted), never a rejection", async () => {
  const { net, logs } = skeleton({ redact: (d) => d.replaceAll("s3cret", "[REDACTED]") });
  net.starting();
  assert.throws(() => net.starting(), /net already started/);
  const failed = new Promise<NetworkStatus>((resolve) => net.base.onStatus!((s) => s.state === "failed" && resolve(s)));
  net.run(async () => {
    throw new Error("bad answer with s3cret");
  });
  assert.equal((await failed).detail, "bad answer with [REDACTED]");
  assert.ok(logs.every((l) => !JSON.stringify(l).includes("s3cret")));
  await net.stop();
});

test("untilDone retries one call until it succeeds (auth and other failures as supervise), and gives up on stop", async () => {
  const { net, seen } = skeleton();
  let calls = 0;
  const got = await net.untilDone(
    async () => {
      calls++;
      if (calls === 1) throw new AuthRefused("no");
      if (calls === 2) throw new Error("down");
      return "me";
    },
    (err) => (err instanceof AuthRefused ? { auth: "refused" } : { state: "retrying", detail: "down" }),
  );
  assert.equal(got, "me");
  assert.deepEqual(seen.map((s) => s.state), ["auth-failed", "retrying"]);
  const stopping = net.untilDone(async () => {
    throw new Error("never");
  }, () => ({ state: "retrying", detail: "never" }));
  await net.stop();
  assert.equal(await stopping, undefined);
});

test("deliver retries a failing sink until it takes the message", async () => {
  const { net } = skeleton();
  const msg: InboundMessage = { id: "g:1", group: "g", senderId: "1", senderName: "a", text: "hi", time: new Date(0) };
  let calls = 0;
  await net.deliver(async (m) => {
    assert.equal(m, msg);
    if (++calls < 3) throw new Error("outbox busy");
  }, msg);
  assert.equal(calls, 3);
});

test("rejected events: each counted, logged with their id once a minute, a throwing counter harmless", () => {
  const reasons: string[] = [];
  const { net, logs } = skeleton({
    onEventRejected: (r) => {
      reasons.push(r);
      throw new Error("counter broke");
    },
  });
  net.rejected("bad field", { id: "7" }, "item");
  net.rejected("bad field", { id: "7" }, "item");
  net.rejected("no id", {}, "item");
  net.rejected("bad field", { id: "8" }, "item");
  assert.deepEqual(reasons, ["bad field", "bad field", "no id", "bad field"]);
  const lines = logs.filter((l) => l.msg === "net: item rejected and skipped");
  assert.deepEqual(lines.map((l) => [l.id, l.why]), [["7", "bad field"], [undefined, "no id"], ["8", "bad field"]]);
});

test("refuseTooLong: up to the limit passes (UTF-16 units, the relay's measure); beyond is fatal", () => {
  const { net } = skeleton();
  net.refuseTooLong("g", "😀".repeat(5), 10);
  assert.throws(
    () => net.refuseTooLong("g", "a".repeat(11), 10),
    (err: unknown) => err instanceof SendError && err.kind === "fatal" && /over the limit of 10/.test(err.message),
  );
});
