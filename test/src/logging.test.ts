// Whatever HTTPStream logs, at any level, carries none of the secrets that crossed the wire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import { HTTPStream } from "../../src/index.ts";
import { closedPort, listen } from "./loopback.ts";

const BOT_TOKEN = "123456789:AAFakeBotTokenSecretPart";
const ACCESS_TOKEN = "OneBotAccessTokenXYZ";
const SESSION = "SessionCookieValue42";
const DECLARED = "PSessionIdDeclared77";
const STREAM_SECRET = "StreamWideSecret88";
const BEARER = "BearerTokenValue99";

test("a captured debug log contains none of the secrets sent or received", async (t) => {
  let lines = "";
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines += chunk.toString();
      cb();
    },
  });
  const logger = pino({ level: "trace" }, sink);
  let hits = 0; // of the redirect's target: a retry starts again from the first hop
  const srv = await listen((req, res) => {
    if (req.url!.includes("/redirect")) {
      res.writeHead(302, { location: `/bot${BOT_TOKEN}/final?access_token=${ACCESS_TOKEN}`, "set-cookie": `sid=${SESSION}; Path=/` });
      return res.end();
    }
    hits++;
    if (hits % 2 === 0) return req.socket.destroy(); // every other request: a retry gets logged
    res.writeHead(hits < 6 ? 503 : 200, { "set-cookie": `sid=${SESSION}; Path=/` });
    res.end(`{"psessionid":"${DECLARED}"}`);
  });
  const port = await closedPort();
  const s = new HTTPStream({
    logger,
    retry: { minTimeout: 1, maxTimeout: 2, retries: 3 },
    chainBackoff: { min: 1, max: 2 },
    secrets: [STREAM_SECRET],
    headers: { authorization: `Bearer ${BEARER}` },
  });
  t.after(() => s.close().then(srv.close));

  let failures = 0;
  await s.add(
    { url: `${srv.url}/redirect/${STREAM_SECRET}?access_token=${ACCESS_TOKEN}`, secrets: [DECLARED], query: { p: DECLARED } },
    (res, ctx) => {
      ctx.log.debug({ url: res.url.replace(BOT_TOKEN, "[caller redacted]").replace(ACCESS_TOKEN, "x") }, "caller's own line");
      // A careless readback throws an error that quotes the URL and the session.
      if (failures++ < 2) throw new Error(`failed on ${res.url} with ${DECLARED}`);
      return undefined;
    },
  ).done;
  await assert.rejects(s.request({ url: `http://127.0.0.1:${port}/bot${BOT_TOKEN}/getMe?access_token=${ACCESS_TOKEN}`, retry: { retries: 1 } }));

  assert.ok(lines.includes("retrying request"), "retries were logged");
  assert.ok(lines.includes("chain step failed"), "the readback failure was logged");
  for (const secret of [BOT_TOKEN, ACCESS_TOKEN, SESSION, DECLARED, STREAM_SECRET, BEARER, "AAFakeBotToken"]) {
    assert.ok(!lines.includes(secret), `log leaks ${secret}:\n${lines}`);
  }
});
