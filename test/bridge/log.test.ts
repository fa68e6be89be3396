import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import fc from "fast-check";
import { createLogger, lineScrubber } from "../../bridge/log.ts";

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const SECRET = "hunter2-s3cr3t";
const TOKEN = "123456:AAE-tok_en";

test("JSON lines carry no secret: nested 3 levels deep, inside a URL, in a message, in headers", () => {
  const out = capture();
  const log = createLogger({ level: "info", format: "json", destination: out.stream, secrets: [SECRET, TOKEN] });
  log.info({ a: { b: { c: { password: SECRET, url: `xmpp://bridge:${SECRET}@host/` } } } }, "nested");
  log.info({ url: `https://api.telegram.org/bot${TOKEN}/getUpdates?offset=1` }, "tg");
  log.info({ headers: { cookie: "ptwebqq=abc", "set-cookie": ["skey=zzz"], authorization: "Bearer xyz" } }, "headers");
  log.info(`login with ${SECRET} failed for ${encodeURIComponent(SECRET + "/")}`);
  log.info({ deep: { deeper: { token: "unlisted-token-value", access_token: "at-value" } } }, "keys");
  log.info({ url: "http://x/channel/poll2?psessionid=sess-id-value&clientid=1&access_token=at2" }, "query");
  log.error(new Error(`connect to https://u:${SECRET}@example.org failed`), "err");
  const text = out.text();
  const lines = text.trim().split("\n");
  assert.equal(lines.length, 7);
  for (const line of lines) JSON.parse(line); // still valid JSON after scrubbing
  for (const leak of [SECRET, TOKEN, "abc", "zzz", "xyz", "unlisted-token-value", "at-value", "sess-id-value", "at2"]) {
    assert.ok(!text.includes(leak), `leaked ${leak}: ${text}`);
  }
  assert.match(text, /\[Redacted\]/);
  assert.match(text, /"msg":"nested"/);
});

test("pretty output is scrubbed too, and stays free of JSON framing", () => {
  const out = capture();
  const log = createLogger({ level: "debug", format: "pretty", destination: out.stream, secrets: [SECRET] });
  log.debug({ cfg: { xmpp: { password: SECRET } } }, `using ${SECRET}`);
  const text = out.text();
  assert.ok(text.includes("using [Redacted]"), text);
  assert.ok(!text.includes(SECRET));
  assert.ok(!text.startsWith("{"));
});

test("the level from the config filters lines", () => {
  const out = capture();
  const log = createLogger({ level: "warn", format: "json", destination: out.stream });
  log.info("hidden");
  log.warn("shown");
  assert.deepEqual(out.text().trim().split("\n").map((l) => JSON.parse(l).msg), ["shown"]);
});

test("a non-TTY stream defaults to JSON", () => {
  const out = capture();
  createLogger({ level: "info", destination: out.stream }).info("x");
  assert.equal(JSON.parse(out.text()).msg, "x");
});

test("property: a configured secret never survives the scrubber, whatever surrounds it", () => {
  const secretArb = fc.stringMatching(/^[A-Za-z0-9_.~-]{4,24}$/).filter((s) => !"[Redacted]".includes(s));
  fc.assert(
    fc.property(secretArb, fc.string(), fc.string(), (secret, pre, post) => {
      const scrub = lineScrubber([secret]);
      const line = JSON.stringify({ msg: pre + secret + post, nested: { a: { b: `https://u:${secret}@h/?x=${encodeURIComponent(secret)}` } } });
      assert.ok(!scrub(line).includes(secret));
    }),
  );
});
