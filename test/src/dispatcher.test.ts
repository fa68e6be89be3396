// Bring your own dispatcher and interceptors: a MockAgent (a polling client tested with no server
// at all), an Agent with its own options, and interceptors of the caller's.
import { test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { Agent, type Dispatcher, MockAgent } from "undici";
import { HTTPStream, type Readback, type RequestSpec } from "../../src/index.ts";
import { listen } from "./loopback.ts";

const quiet = pino({ level: "silent" });
const fast = { logger: quiet, retry: { minTimeout: 1, maxTimeout: 2 }, chainBackoff: { min: 1, max: 2 } };

test("a MockAgent: a polling client tested with no server, cookies and redirects included", async (t) => {
  const mock = new MockAgent();
  mock.disableNetConnect(); // a request the test did not expect fails instead of reaching the network
  const api = mock.get("http://api.example");
  api.intercept({ path: "/login", method: "POST", body: "user=me" }).reply(302, "", { headers: { location: "/feed", "set-cookie": "sid=s1; Path=/" } });
  api.intercept({ path: "/feed", method: "GET", headers: { cookie: "sid=s1" } }).reply(200, { since: 0 });
  api.intercept({ path: "/events?since=0", method: "GET", headers: { cookie: "sid=s1" } }).reply(200, { events: ["a", "b"], next: 2 });
  api.intercept({ path: "/events?since=2", method: "GET" }).reply(503, "busy"); // retried, as a real 503 would be
  api.intercept({ path: "/events?since=2", method: "GET" }).reply(200, { events: ["c"], next: 3 });
  api.intercept({ path: "/events?since=3", method: "GET" }).reply(200, { events: [], next: 3, stop: true });
  const s = new HTTPStream({ ...fast, dispatcher: mock });
  t.after(async () => {
    await s.close();
    await mock.close();
  });

  const feed = await s.request({ url: "http://api.example/login", form: { user: "me" } });
  assert.equal(feed.url, "http://api.example/feed");
  const { since } = await feed.json<{ since: number }>();
  const seen: string[] = [];
  const poll = (n: number): RequestSpec => ({ url: "http://api.example/events", query: { since: n }, longPoll: true });
  const onEvents: Readback = async (res) => {
    const body = await res.json<{ events: string[]; next: number; stop?: boolean }>();
    seen.push(...body.events);
    return body.stop === true ? undefined : { request: poll(body.next), readback: onEvents };
  };
  await s.add(poll(since), onEvents, { onError: "end" }).done;
  assert.deepEqual(seen, ["a", "b", "c"]);
  mock.assertNoPendingInterceptors();
  assert.equal(s.stats().retried, 1);
  assert.equal(s.stats().parked, 0);
});

test("a MockAgent error before sending says requestSent false; the stream does not close a dispatcher it was given", async (t) => {
  const mock = new MockAgent();
  mock.disableNetConnect();
  mock.get("http://api.example").intercept({ path: "/send", method: "POST" }).replyWithError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
  mock.get("http://api.example").intercept({ path: "/after", method: "GET" }).reply(200, "still open");
  const s = new HTTPStream({ ...fast, dispatcher: mock });
  await assert.rejects(s.request({ url: "http://api.example/send", body: "x", retry: false }), (e: { requestSent?: boolean }) => e.requestSent === false);
  await s.close();
  const { body } = await mock.request({ origin: "http://api.example", path: "/after", method: "GET" });
  assert.equal(await body.text(), "still open");
  await mock.close();
});

test("an Agent with the caller's options, and the caller's own interceptor on every hop", async (t) => {
  const srv = await listen((req, res) => {
    if (req.url === "/old") return res.writeHead(301, { location: "/new" }).end();
    res.end(`${req.url} ${req.headers["x-trace"] ?? "-"}`);
  });
  const agent = new Agent({ connections: 2, keepAliveTimeout: 1000 });
  const traced: string[] = [];
  const trace: Dispatcher.DispatcherComposeInterceptor = (dispatch) =>
    function dispatchTraced(opts, handler) {
      traced.push(opts.path);
      return dispatch({ ...opts, headers: { ...(opts.headers as Record<string, string>), "x-trace": String(traced.length) } }, handler);
    };
  const s = new HTTPStream({ ...fast, dispatcher: agent, interceptors: [trace] });
  t.after(async () => {
    await s.close();
    await agent.close();
    await srv.close();
  });
  const res = await s.request({ url: srv.url + "/old" });
  assert.equal(await res.text(), "/new 2");
  assert.deepEqual(traced, ["/old", "/new"]);
  assert.equal(s.stats().origins[srv.url]!.completed, 2);
});
