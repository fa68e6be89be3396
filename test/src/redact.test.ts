import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { redactError, redactText, redactUrl } from "../../src/index.ts";

test("Telegram bot tokens in the path are redacted", () => {
  const out = redactUrl("https://api.telegram.org/bot123456:AAH-x_yZ/getUpdates?offset=5&timeout=50");
  assert.equal(out, "https://api.telegram.org/bot[Redacted]/getUpdates?offset=5&timeout=50");
});

test("credential-like query parameters are redacted, others kept", () => {
  const out = redactUrl("http://h:5700/send?access_token=TOK&group_id=42&ptwebqq=PT&psessionid=PS&Token=T2");
  assert.equal(out, "http://h:5700/send?access_token=[Redacted]&group_id=42&ptwebqq=[Redacted]&psessionid=[Redacted]&Token=[Redacted]");
});

test("user info and declared secrets are redacted, raw and URL-encoded", () => {
  const out = redactUrl("http://user:pw@h/a/s3cr%2Ft/b?q=s3cr/t", ["s3cr/t"]);
  assert.ok(!out.includes("pw@") && !out.includes("user"), out);
  assert.ok(!out.includes("s3cr"), out);
});

test("URLs inside error messages are redacted", () => {
  const msg = redactText("connect failed for https://api.telegram.org/bot1:ABC/getMe?access_token=XYZ (ECONNREFUSED)");
  assert.ok(!msg.includes("ABC") && !msg.includes("XYZ"), msg);
  assert.ok(msg.includes("ECONNREFUSED"));
  const err = redactError(Object.assign(new Error("GET http://h/x?token=Q1 failed"), { code: "E1", cause: new Error("bot9:QQQ") }));
  assert.ok(!JSON.stringify(err).includes("Q1") && !JSON.stringify(err).includes("QQQ"), JSON.stringify(err));
  assert.equal(err.code, "E1");
});

test("a declared secret never survives redaction, wherever it sits in the URL or text", () => {
  const secretArb = fc.stringMatching(/^[A-Za-z0-9_\-:.~]{3,24}$/);
  fc.assert(
    fc.property(secretArb, fc.constantFrom("path", "query", "fragment", "text"), (secret, where) => {
      const url =
        where === "path" ? `http://h/p/${secret}/x` : where === "query" ? `http://h/p?x=${encodeURIComponent(secret)}` : `http://h/p#${secret}`;
      const out = where === "text" ? redactText(`oops ${secret} at ${url}`, [secret]) : redactUrl(url, [secret]);
      assert.ok(!out.includes(secret), `${secret} in ${out}`);
    }),
  );
});

test("redactUrl never throws, even on garbage", () => {
  fc.assert(fc.property(fc.string(), (s) => void redactUrl(s, [])));
});
