// Property test over the inbound parser (issue 9): any get_latest_events entry, well formed,
// nearly well formed or garbage, gets a verdict (relay, skip, rejection) and never a throw; a
// relayed event becomes a message whose text and names carry nothing XML 1.0 forbids once the
// bridge strips them (bridge/xmpp/text.ts strips on the way into a stanza). Lookups answer
// hostile names or fail. Runs: POLLBRIDGE_FUZZ_RUNS (default 10 000; 100 000 for a long run).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { classifyEvent } from "../../../../bridge/networks/onebot12/events.ts";
import { inboundOf, retractOf } from "../../../../bridge/networks/onebot12/inbound.ts";
import { stripForbiddenXmlChars } from "../../../../bridge/xmpp/text.ts";

const RUNS = Number(process.env.POLLBRIDGE_FUZZ_RUNS ?? 10_000) || 10_000;
const XML_FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const GROUP = "12345";
const SELF = { platform: "qq", user_id: "10001" };

const nastyString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: fc.constantFrom("\u0000", "\u0007", "\u001b", "\ud800", "\udfff", "\ufffe", "\uffff", "\u202e", "a", " ", "\n", "😀"), maxLength: 12 }),
);
const anything = fc.anything({ maxDepth: 2, maxKeys: 3 });
const id = fc.oneof(fc.constantFrom("20001", "10001", "6283"), fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 2 ** 40 }));
const segment = fc.oneof(
  fc.record({ type: fc.constant("text"), data: fc.record({ text: nastyString }) }),
  fc.record({ type: fc.constant("mention"), data: fc.record({ user_id: id }) }),
  fc.record({ type: fc.constantFrom("image", "voice", "file"), data: fc.record({ file_id: nastyString, url: nastyString }, { requiredKeys: [] }) }),
  fc.record({ type: fc.constant("reply"), data: fc.record({ message_id: id }) }),
  fc.record({ type: fc.constant("location"), data: fc.record({ title: nastyString, latitude: fc.double(), longitude: fc.double() }, { requiredKeys: [] }) }),
  fc.record({ type: nastyString, data: fc.dictionary(fc.string({ maxLength: 4 }), anything, { maxKeys: 3 }) }),
);
/** A well-formed group message event with hostile strings in every text field. */
const event = fc.record(
  {
    id: fc.uuid(),
    self: fc.record({ platform: fc.constantFrom("qq", "qq", "wechat"), user_id: fc.constantFrom("10001", "10001", "10002") }),
    time: fc.oneof(fc.double(), fc.integer({ min: 0, max: 2 ** 33 })),
    type: fc.constant("message"),
    detail_type: fc.constant("group"),
    sub_type: fc.constant(""),
    message_id: id,
    message: fc.array(segment, { maxLength: 4 }),
    alt_message: nastyString,
    group_id: fc.constantFrom(GROUP, GROUP, 12345, "999"),
    user_id: fc.oneof(id, fc.constant("10001")),
  },
  { requiredKeys: ["type", "detail_type", "message_id", "message", "group_id", "user_id"] },
);
/** A well-formed event with one field replaced by anything at all. */
const mutated = fc.tuple(event, fc.constantFrom("message_id", "group_id", "user_id", "message", "alt_message", "time", "self", "id", "type"), anything).map(([e, key, v]) => ({ ...e, [key]: v }));
const raw = fc.oneof(
  { weight: 4, arbitrary: event },
  { weight: 3, arbitrary: mutated },
  { weight: 1, arbitrary: fc.record({ type: fc.oneof(fc.constantFrom("meta", "notice", "request", "message"), anything), detail_type: fc.oneof(fc.constantFrom("heartbeat", "private", "group", "group_message_delete"), anything) }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: anything },
);
/** Lookups as a hostile or broken server answers them. */
const lookup = fc.oneof(nastyString.map((s) => async () => s), fc.constant(async () => undefined), fc.constant(async () => Promise.reject(new Error("down"))));

test(`classifyEvent + inboundOf: any entry gets a verdict, never a throw; messages are well formed and XML-safe after stripping (${RUNS} runs)`, async () => {
  await fc.assert(
    fc.asyncProperty(raw, fc.constantFrom(SELF, null, { platform: "", user_id: "10001" }), lookup, lookup, async (e, self, name, url) => {
      const v = classifyEvent(e, new Set([GROUP]), self);
      assert.ok(["relay", "delete", "skip", "reject"].includes(v.kind));
      if (v.kind === "delete") {
        const r = retractOf(v.event);
        assert.deepEqual([r.kind, r.group, r.ref!.startsWith(`${GROUP}:`), Number.isNaN(r.time.getTime())], ["retract", GROUP, true, false]);
        return;
      }
      if (v.kind !== "relay") {
        assert.equal(typeof v.reason, "string");
        return;
      }
      const m = await inboundOf(v.event, { memberName: name, fileUrl: url });
      for (const s of [m.id, m.group, m.senderId, m.senderName, m.text]) assert.equal(typeof s, "string");
      assert.equal(m.group, GROUP);
      assert.ok(m.id.startsWith(`${GROUP}:`));
      assert.ok(!Number.isNaN(m.time.getTime()));
      assert.equal(m.own === true, v.event.own);
      for (const s of [m.text, m.senderName]) assert.ok(!XML_FORBIDDEN.test(stripForbiddenXmlChars(s)));
      // Never a bare "<Alice> " line: a message with nothing readable says so.
      // (A picture without a caption, or a bare @ of the bot, has text "": the relay shows those.)
      if (m.media === undefined && m.mentionsSelf !== true) assert.ok(stripForbiddenXmlChars(m.text).trim() !== "", JSON.stringify(m.text));
    }),
    { numRuns: RUNS },
  );
});

test(`readAction: any body and status is data or an ActionError, never another throw (${RUNS} runs)`, async () => {
  const { ActionError, readAction } = await import("../../../../bridge/networks/onebot12/action.ts");
  const body = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({ status: fc.oneof(fc.constantFrom("ok", "failed"), anything), retcode: fc.oneof(fc.integer(), anything), data: anything, message: fc.oneof(nastyString, anything) }, { requiredKeys: [] }).map((v) => JSON.stringify(v) ?? "null"),
  );
  await fc.assert(
    fc.asyncProperty(body, fc.constantFrom(200, 401, 429, 500), fc.constantFrom(undefined, "2", "soon", "9".repeat(400), "Wed, 21 Oct 2215 07:28:00 GMT"), async (text, status, retryAfter) => {
      const res = { status, headers: { "retry-after": retryAfter }, url: "", request: { url: "" }, text: async () => text } as unknown as Parameters<typeof readAction>[0];
      try {
        await readAction(res, "get_latest_events");
      } catch (err) {
        assert.ok(err instanceof ActionError, String(err));
        assert.equal(typeof err.message, "string");
        if (err.failure.kind === "http" && err.failure.retryAfterMs !== undefined) assert.ok(Number.isFinite(err.failure.retryAfterMs) && err.failure.retryAfterMs >= 0);
      }
    }),
    { numRuns: RUNS },
  );
});
