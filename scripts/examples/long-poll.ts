// A complete HTTPStream example, runnable offline: node scripts/examples/long-poll.ts
// A tiny loopback "chat server" parks GET /poll until a message exists; POST /send adds one.
// HTTPStream runs a long-poll chain that re-arms itself, a delayed sender chain, and a one-shot
// request, then shuts down cleanly.
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { HTTPStream, type Readback, type RequestSpec } from "../../src/index.ts";

// --- the server (stands in for a real long-poll API) ---------------------------------------
const queue: string[] = [];
const waiting: http.ServerResponse[] = [];
const server = http.createServer(async (req, res) => {
  if (req.url === "/login") {
    res.writeHead(302, { location: "/", "set-cookie": "session=s3cr3t-session; Path=/; HttpOnly" }).end();
  } else if (req.headers.cookie !== "session=s3cr3t-session") {
    res.writeHead(403).end();
  } else if (req.url?.startsWith("/poll")) {
    if (queue.length > 0) res.end(JSON.stringify({ messages: queue.splice(0) }));
    else waiting.push(res); // parked until a message arrives
  } else if (req.url === "/send") {
    let body = "";
    for await (const chunk of req) body += chunk;
    queue.push(new URLSearchParams(body).get("text") ?? "");
    for (const parked of waiting.splice(0)) parked.end(JSON.stringify({ messages: queue.splice(0) }));
    res.end('{"ok":true}');
  } else {
    res.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// --- the client -----------------------------------------------------------------------------
const stream = new HTTPStream({
  logger: pino({ level: "info" }),
  retry: { retries: 3, minTimeout: 200 },
  headers: { "user-agent": "pollbridge-example" },
});

// Log in: the 302 sets the session cookie; HTTPStream follows the redirect and keeps the cookie
// (its cookies interceptor sits below its redirect interceptor, so every hop passes through it).
const login = await stream.request({ url: `${base}/login` });
await login.text();

let received = 0;
const poll: RequestSpec = { url: `${base}/poll`, longPoll: true, timeout: 35_000, retry: { statuses: [] } };
const onMessages: Readback = async (res, ctx) => {
  if (res.status !== 200) {
    ctx.log.warn({ status: res.status }, "poll answered with an error; polling again in 1 s");
    return { request: poll, readback: onMessages, delay: 1000 };
  }
  const { messages } = await res.json<{ messages: string[] }>();
  for (const text of messages) console.log(`received: ${text}`);
  received += messages.length;
  return received < 3 ? { request: poll, readback: onMessages } : undefined; // re-arm, or end
};
const poller = stream.add(poll, onMessages, { name: "poller" });

// Three sends, 100 ms apart, as one chain of delayed steps (nothing blocks meanwhile).
const send = (text: string): RequestSpec => ({ url: `${base}/send`, form: { text }, retrySafe: false });
let sent = 0;
const sendNext: Readback = async (res) => {
  await res.json();
  sent++;
  return sent < 3 ? { request: send(`message ${sent + 1}`), readback: sendNext, delay: 100 } : undefined;
};
const sender = stream.add(send("message 1"), sendNext, { name: "sender", delay: 100 });

await Promise.all([poller.done, sender.done]);
console.log("stats:", JSON.stringify(stream.stats()));
console.log("cookie jar:", JSON.stringify((await stream.cookies.serialize()).cookies.map((c) => c.key)));
await stream.close();
server.close();
