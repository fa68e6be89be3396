// Fuzz over every parser a poll2 or send answer goes through: whatever the server sends, no throw
// escapes, and every result is one the client acts on (an item is a message, not ours, or a
// rejection). 10,000 runs each in npm test; POLLBRIDGE_FUZZ_RUNS=100000 for the long run.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parsePollItem } from "../../../../bridge/networks/webqq/poll-item.ts";
import { UNSUPPORTED_MESSAGE as UNSUPPORTED_TEXT } from "../../../../bridge/networks/shared/readable.ts";
import { classifyPoll, classifySend } from "../../../../bridge/networks/webqq/retcode.ts";
import { parsePtuiCB } from "../../../../bridge/networks/webqq/login.ts";

const numRuns = Number(process.env.POLLBRIDGE_FUZZ_RUNS ?? 10_000);

const anyValue = fc.oneof(fc.jsonValue(), fc.anything());
const element = fc.oneof(
  fc.string(),
  fc.tuple(fc.constantFrom("font", "face", "cface", "offpic", "x", "__proto__", "constructor"), anyValue),
  fc.integer(),
  anyValue,
);
/** Items near the real shape, with any field of any type, besides arbitrary values. */
const item = fc.oneof(
  anyValue,
  fc.record(
    {
      poll_type: fc.oneof(fc.constantFrom("group_message", "message", "kick_message"), anyValue),
      value: fc.oneof(
        anyValue,
        fc.record(
          {
            from_uin: fc.oneof(fc.nat(), anyValue),
            send_uin: fc.oneof(fc.nat(), anyValue),
            msg_id: fc.oneof(fc.integer(), anyValue),
            time: fc.oneof(fc.nat(), anyValue),
            content: fc.oneof(fc.array(element), anyValue),
          },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: [] },
  ),
);

test("poll2 items: a message, not ours, or a rejection; never a throw", () => {
  fc.assert(
    fc.property(item, (it) => {
      const p = parsePollItem(it);
      switch (p.kind) {
        case "group-message":
          assert.equal(typeof p.text, "string");
          assert.ok(p.text.trim() !== "" || p.text === UNSUPPORTED_TEXT);
          assert.ok(Number.isInteger(p.gid) && Number.isInteger(p.sendUin) && Number.isInteger(p.msgId));
          break;
        case "other":
          assert.equal(typeof p.pollType, "string");
          break;
        case "rejected":
          assert.ok(p.reason.length > 0 && typeof p.id === "string");
          break;
        default:
          assert.fail(`unexpected result ${JSON.stringify(p)}`);
      }
    }),
    { numRuns },
  );
});

test("poll2 answers: whatever the status and body, an action and never a throw", () => {
  const body = fc.oneof(
    fc.string(),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({ retcode: fc.oneof(fc.constantFrom(0, 102, 103, 116, 121, 100000, 109), fc.integer(), anyValue), result: fc.array(item), p: anyValue }, { requiredKeys: [] }).map((v) => JSON.stringify(v) ?? ""),
  );
  const kinds = new Set(["messages", "idle", "rotate", "warmup", "relogin", "ignored", "failure"]);
  fc.assert(
    fc.property(fc.integer({ min: 100, max: 599 }), body, (status, b) => {
      const action = classifyPoll(status, b);
      assert.ok(kinds.has(action.kind));
      if (action.kind === "messages") for (const it of action.items) parsePollItem(it);
    }),
    { numRuns },
  );
});

test("send answers: whatever the body, an outcome and never a throw", () => {
  const kinds = new Set(["ok", "delivered", "maybe", "frequency", "relogin", "bad-request", "refused", "unreadable"]);
  const body = fc.oneof(
    fc.string(),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({ retcode: fc.oneof(fc.integer(), anyValue), errCode: fc.oneof(fc.integer(), anyValue), errMsg: anyValue }, { requiredKeys: [] }).map((v) => JSON.stringify(v) ?? ""),
  );
  fc.assert(
    fc.property(body, (b) => {
      assert.ok(kinds.has(classifySend(b).kind));
    }),
    { numRuns },
  );
});

test("ptqrlogin answers: parsePtuiCB never throws and reads a code only from a ptuiCB call", () => {
  const near = fc.tuple(fc.string(), fc.string(), fc.string()).map(([c, u, m]) => `ptuiCB('${c}','0','${u}','0','${m}', '')`);
  fc.assert(
    fc.property(fc.oneof(fc.string(), near), (body) => {
      const cb = parsePtuiCB(body);
      if (cb !== null) {
        assert.ok(Number.isInteger(cb.code) && body.includes("ptuiCB("));
        assert.equal(typeof cb.url, "string");
      }
    }),
    { numRuns },
  );
});
