// Fuzz over what a OneBot 11 peer can send us: events (any JSON, and group message events with
// fields of every wrong type) through the inbound parser, and any text as a socket frame. No
// throw escapes; every event is either a message with sane fields or skipped.
// 10,000 runs each; POLLBRIDGE_FUZZ_RUNS=100000 for more.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import pino from "pino";
import type { InboundMessage } from "../../../../bridge/network.ts";
import { Inbound } from "../../../../bridge/networks/onebot11/inbound.ts";
import { MemberNames } from "../../../../bridge/networks/onebot11/names.ts";
import { RepeatedWarning } from "../../../../bridge/networks/shared/repeated-warning.ts";
import { SocketLink } from "../../../../bridge/networks/onebot11/ws-link.ts";

const RUNS = Number(process.env.POLLBRIDGE_FUZZ_RUNS ?? 10_000);
const log = pino({ level: "silent" });
const GROUP = 123456;

const anyValue = fc.oneof(fc.jsonValue(), fc.anything(), fc.constant(undefined), fc.constant(null), fc.double(), fc.bigInt().map(String));
const segment = fc.oneof(
  fc.record({ type: fc.constantFrom("text", "at", "face", "image", "reply", "record", "weird"), data: fc.dictionary(fc.constantFrom("text", "qq", "id", "url", "file", "name"), anyValue) }),
  anyValue,
);
const groupEvent = fc.record(
  {
    post_type: fc.oneof(fc.constantFrom("message", "message_sent"), anyValue),
    message_type: fc.oneof(fc.constant("group"), anyValue),
    group_id: fc.oneof(fc.constant(GROUP), fc.constant(String(GROUP)), anyValue),
    user_id: fc.oneof(fc.integer(), fc.constant(10001), anyValue),
    self_id: fc.oneof(fc.constant(10001), anyValue),
    message_id: fc.oneof(fc.integer(), fc.string(), anyValue),
    message_seq: anyValue,
    time: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.double(), anyValue),
    message: fc.oneof(fc.string(), fc.array(segment), anyValue),
    raw_message: anyValue,
    sender: fc.oneof(fc.record({ nickname: anyValue, card: anyValue }, { requiredKeys: [] }), anyValue),
    anonymous: anyValue,
  },
  { requiredKeys: [] },
);

function inbound(got: InboundMessage[], rejected: string[]): Inbound {
  const failing = { call: () => Promise.reject(new Error("no server in a fuzz run")) };
  return new Inbound({
    groups: new Set([String(GROUP)]),
    selfId: () => 10001,
    names: new MemberNames(failing, log),
    sink: async (m) => void got.push(m),
    log,
    backoff: { min: 1, max: 2 },
    signal: new AbortController().signal,
    onRejected: (r) => void rejected.push(r),
  });
}

test(`fuzz: the inbound event parser never throws and hands over only sane messages (${RUNS} runs)`, { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(groupEvent, anyValue), async (event) => {
      const got: InboundMessage[] = [];
      const rejected: string[] = [];
      const ib = inbound(got, rejected);
      await ib.handle(event);
      for (const m of got) {
        assert.equal(typeof m.id, "string");
        assert.equal(m.group, String(GROUP));
        assert.equal(typeof m.text, "string");
        assert.equal(typeof m.senderName, "string");
        assert.ok(!Number.isNaN(m.time.getTime()));
      }
      assert.ok(got.length + rejected.length <= 1);
    }),
    { numRuns: RUNS },
  );
});

test(`fuzz: any socket frame is taken without a throw (${RUNS} runs)`, { timeout: 600_000 }, () => {
  const events: unknown[] = [];
  const link = new SocketLink({
    peer: { send: () => undefined, close: () => undefined, terminate: () => undefined },
    events: true,
    api: true,
    log,
    warn: new RepeatedWarning(log),
    onEvent: (e) => void events.push(e),
    onDown: () => undefined,
    onAuthRefused: () => undefined,
    silenceMs: 600_000,
  });
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), groupEvent.map((v) => JSON.stringify(v) ?? "")), (frame) => {
      link.receive(frame);
    }),
    { numRuns: RUNS },
  );
  link.gone("end of test");
});
