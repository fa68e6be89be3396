// Property test over the inbound parser (issue 9): any getUpdates entry, well formed, nearly well
// formed or garbage, gets a verdict (message, skip, rejection, no id) and never a throw; a
// message's text and names carry nothing XML 1.0 forbids once the bridge strips them
// (bridge/xmpp/text.ts strips on the way into a stanza; asserted on what the sink receives).
// Runs: POLLBRIDGE_FUZZ_RUNS (default 10 000; 100 000 for a long run).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { GroupIndex, parseGroup } from "../../../../bridge/networks/telegram/groups.ts";
import { readUpdate } from "../../../../bridge/networks/telegram/inbound.ts";
import { stripForbiddenXmlChars } from "../../../../bridge/xmpp/text.ts";

const RUNS = Number(process.env.POLLBRIDGE_FUZZ_RUNS ?? 10_000) || 10_000;
const XML_FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

const groups = new GroupIndex(["-1001234567890", "-1001234567890/3", "-4242", "@devgroup"].map(parseGroup));

/** Text with what hostile peers send: controls, lone surrogates, U+FFFE, RTL marks, long runs. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: fc.constantFrom("\u0000", "\u0007", "\u001b", "\ud800", "\udfff", "\ufffe", "\uffff", "\u202e", "a", " ", "\n", "😀"), maxLength: 12 }),
);
const anything = fc.anything({ maxDepth: 2, maxKeys: 3 });
const int = fc.integer({ min: 1, max: 2 ** 40 });
const chatId = fc.constantFrom(-1001234567890, -4242, -1009876543210, 7);
const user = fc.record({ id: int, is_bot: fc.boolean(), first_name: nastyString, last_name: nastyString, username: nastyString }, { requiredKeys: ["id"] });
const chat = fc.record({ id: chatId, type: fc.constantFrom("group", "supergroup", "supergroup", "private", "channel"), title: nastyString, username: fc.constantFrom("devgroup", "DevGroup", "other") }, { requiredKeys: ["id", "type"] });
const media = fc.record(
  { title: nastyString, file_name: nastyString, emoji: nastyString, address: nastyString, first_name: nastyString, phone_number: nastyString, value: int, latitude: fc.double(), longitude: fc.double() },
  { requiredKeys: [] },
);
/** A well-formed Message with hostile strings in every text field. */
const message = fc.record(
  {
    message_id: int,
    message_thread_id: fc.constantFrom(3, 7, 99),
    is_topic_message: fc.boolean(),
    from: user,
    sender_chat: chat,
    chat,
    date: fc.integer({ min: 0, max: 2 ** 40 }),
    text: nastyString,
    caption: nastyString,
    reply_to_message: fc.record({ message_id: int }),
    photo: fc.array(fc.oneof(anything, fc.record({ file_id: nastyString, file_unique_id: nastyString, file_size: fc.oneof(fc.nat(), anything) }, { requiredKeys: ["file_id"] })), { maxLength: 2 }),
    sticker: media,
    poll: fc.record({ question: nastyString }),
    venue: media,
    contact: media,
    dice: media,
    location: media,
    document: media,
  },
  { requiredKeys: ["message_id", "chat", "date"] },
);
/** A well-formed message with one field (top level or nested) replaced by anything at all. */
const mutated = fc.tuple(message, fc.constantFrom("message_id", "chat", "date", "text", "from", "poll", "sticker", "reply_to_message", "message_thread_id", "caption", "chat.id", "chat.type", "from.id", "from.first_name", "poll.question"), anything).map(([m, path, v]) => {
  const copy = structuredClone(m) as Record<string, unknown>;
  const [a, b] = path.split(".");
  if (b === undefined) copy[a!] = v;
  else copy[a!] = { ...(typeof copy[a!] === "object" && copy[a!] !== null ? (copy[a!] as object) : {}), [b]: v };
  return copy;
});
const update = fc.oneof(
  { weight: 4, arbitrary: fc.record({ update_id: fc.nat(), message }) },
  { weight: 3, arbitrary: fc.record({ update_id: fc.nat(), message: mutated }) },
  { weight: 1, arbitrary: fc.record({ update_id: anything, message }) },
  { weight: 1, arbitrary: fc.record({ update_id: fc.nat(), edited_message: message }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: anything },
);

test(`readUpdate: any entry gets a verdict, never a throw; messages are well formed and XML-safe after stripping (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(update, fc.constantFrom(undefined, "7000000001", "501"), fc.constantFrom(undefined, "pollbridge_bot", "a"), (raw, botId, botUsername) => {
      const v = readUpdate(raw, groups, botId, botUsername);
      assert.ok(["no-id", "message", "skip", "reject"].includes(v.kind));
      if (v.kind !== "no-id") assert.ok(Number.isSafeInteger(v.updateId) && v.updateId >= 0);
      if (v.kind === "reject" || v.kind === "skip" || v.kind === "no-id") assert.equal(typeof v.reason, "string");
      if (v.kind !== "message") return;
      const m = v.message;
      for (const s of [m.id, m.group, m.senderId, m.senderName, m.text]) assert.equal(typeof s, "string");
      assert.ok(m.text !== "");
      assert.ok(!Number.isNaN(m.time.getTime()));
      assert.ok(groups.get(m.group) !== undefined);
      assert.ok(m.id.startsWith(`${m.group}:`));
      for (const s of [m.text, m.senderName]) assert.ok(!XML_FORBIDDEN.test(stripForbiddenXmlChars(s)));
      // Media refs are file_ids (never a URL); an edit names the message it edits in the same group.
      for (const md of m.media ?? []) assert.ok(typeof md.ref === "string" && md.ref !== "" && !md.ref.includes("/file/bot"));
      if (m.kind === "edit") assert.ok(m.ref?.startsWith(`${m.group}:`) && m.id !== m.ref);
      // Never a bare "<Alice> " line: a message with nothing readable says so.
      assert.ok(stripForbiddenXmlChars(m.text).trim() !== "", JSON.stringify(m.text));
    }),
    { numRuns: RUNS },
  );
});

test("the issue's update: poll.question {toString: 1} is a rejection naming the field, not a throw", () => {
  const v = readUpdate({ update_id: 5, message: { message_id: 1, chat: { id: -4242, type: "group" }, date: 1, poll: { question: { toString: 1 } } } }, groups, undefined);
  assert.equal(v.kind, "reject");
  assert.match(v.kind === "reject" ? v.reason : "", /^message\.poll\.question: /);
});

test(`readAnswer: any body and status is a result, an ApiError or a BadAnswerError, never another throw (${RUNS} runs)`, async () => {
  const { ApiError, BadAnswerError, readAnswer } = await import("../../../../bridge/networks/telegram/api.ts");
  const body = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({ ok: fc.oneof(fc.boolean(), anything), result: anything, error_code: fc.oneof(fc.integer(), anything), description: fc.oneof(nastyString, anything), parameters: fc.oneof(fc.record({ retry_after: fc.oneof(fc.integer(), anything), migrate_to_chat_id: fc.oneof(fc.integer(), anything) }), anything) }, { requiredKeys: [] }).map((v) => JSON.stringify(v) ?? "null"),
  );
  await fc.assert(
    fc.asyncProperty(body, fc.constantFrom(200, 400, 403, 429, 500, 502), async (text, status) => {
      const res = { status, headers: {}, url: "", request: { url: "" }, text: async () => text } as unknown as Parameters<typeof readAnswer>[0];
      try {
        await readAnswer(res, "getUpdates");
      } catch (err) {
        assert.ok(err instanceof ApiError || err instanceof BadAnswerError, String(err));
        if (err instanceof ApiError) assert.ok(err.retryAfterMs === undefined || (Number.isFinite(err.retryAfterMs) && err.retryAfterMs >= 0));
      }
    }),
    { numRuns: RUNS },
  );
});
