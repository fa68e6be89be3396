// Each interceptor alone, on a plain undici Agent: no HTTPStream involved.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "undici";
import { CookieJar } from "tough-cookie";
import { cookies, DispatchStats, RedirectError, redirect, stats } from "../../src/index.ts";
import { listen } from "./loopback.ts";

async function loginServer() {
  return listen((req, res) => {
    if (req.url === "/login") return res.writeHead(302, { location: "/home", "set-cookie": "sid=abc; Path=/" }).end();
    if (req.url === "/loop") return res.writeHead(302, { location: "/loop" }).end();
    if (req.url === "/away") return res.writeHead(307, { location: `http://localhost:${new URL(`http://${req.headers.host}`).port}/echo` }).end();
    res.end(`${req.method} ${req.url} cookie=${req.headers.cookie ?? "-"} auth=${req.headers.authorization ?? "-"}`);
  });
}

test("compose(cookies, redirect): the cookie set on a 302 is sent on the next hop; the other order loses it (the ordering trap)", async (t) => {
  const srv = await loginServer();
  const right = new Agent().compose(cookies({ jar: new CookieJar() }), redirect());
  const wrong = new Agent().compose(redirect(), cookies({ jar: new CookieJar() }));
  t.after(async () => {
    await right.close();
    await wrong.close();
    await srv.close();
  });
  const a = await right.request({ origin: srv.url, path: "/login", method: "GET" });
  assert.equal(await a.body.text(), "GET /home cookie=sid=abc auth=-");
  assert.equal((a.context as { redirectedTo?: string }).redirectedTo, srv.url + "/home");
  const b = await wrong.request({ origin: srv.url, path: "/login", method: "GET" });
  assert.equal(await b.body.text(), "GET /home cookie=- auth=-");
});

test("redirect alone: loops end in RedirectError; hand-set credentials do not cross origins; 0 hands the 3xx over", async (t) => {
  const srv = await loginServer();
  const agent = new Agent().compose(redirect({ maxRedirects: 3 }));
  t.after(() => agent.close().then(srv.close));
  await assert.rejects(agent.request({ origin: srv.url, path: "/loop", method: "GET" }), (e: unknown) => e instanceof RedirectError && (e as RedirectError).requestSent);
  const away = await agent.request({ origin: srv.url, path: "/away", method: "POST", body: "x", headers: { authorization: "Bearer T", cookie: "c=1" } });
  assert.equal(await away.body.text(), "POST /echo cookie=- auth=-"); // 307 keeps the method; localhost is another origin
  const raw = await agent.request({ origin: srv.url, path: "/login", method: "GET", maxRedirects: 0 } as Parameters<Agent["request"]>[0]);
  assert.equal(raw.statusCode, 302);
  await raw.body.dump();
});

test("stats alone: in flight until the headers, completed per hop, per origin", async (t) => {
  const srv = await loginServer();
  const counts = new DispatchStats();
  const agent = new Agent().compose(stats(counts), redirect());
  t.after(() => agent.close().then(srv.close));
  const res = await agent.request({ origin: srv.url, path: "/login", method: "GET" });
  await res.body.text();
  assert.deepEqual(counts.of(srv.url), { inFlight: 0, parked: 0, completed: 2, retried: 0, failed: 0 });
});
