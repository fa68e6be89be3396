// Benchmark loopback server, run as a child process. Prints its base URL on its first line.
//   /fast            a 1 KB JSON body
//   /poll?hold=MS    parks until /release (or MS elapse); /parked tells how many are parked
//   /release         answers every parked poll at once; /connections counts open sockets
//   /delay?due=T     records (arrival − T) in ms, T being an epoch time in ms; /delay-stats returns them
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A valid JSON document of exactly 1,024 bytes. */
function oneKilobyteJson(): Buffer {
  const doc = { ok: true, items: Array.from({ length: 12 }, (_, i) => ({ id: i, name: `item-${i}`, flag: i % 2 === 0 })), pad: "" };
  doc.pad = "x".repeat(1024 - JSON.stringify(doc).length);
  return Buffer.from(JSON.stringify(doc));
}
const fastBody = oneKilobyteJson();
const POLL_BODY = '{"poll":1}';
const parked = new Set<http.ServerResponse>();
const delayErrors: number[] = [];
const epochNow = (): number => performance.timeOrigin + performance.now();

function answerPoll(res: http.ServerResponse): void {
  if (!parked.delete(res)) return;
  res.writeHead(200, { "content-type": "application/json", "content-length": String(POLL_BODY.length) });
  res.end(POLL_BODY);
}

const server = http.createServer((req, res) => {
  const url = req.url!;
  if (url === "/fast") {
    res.writeHead(200, { "content-type": "application/json", "content-length": String(fastBody.length) });
    res.end(fastBody);
  } else if (url.startsWith("/poll")) {
    parked.add(res);
    const hold = Number(new URL(url, "http://x").searchParams.get("hold") ?? "0");
    if (hold > 0) setTimeout(answerPoll, hold, res);
    res.on("close", () => parked.delete(res));
  } else if (url === "/parked") {
    res.end(String(parked.size));
  } else if (url === "/connections") {
    server.getConnections((_err, n) => res.end(String(n)));
  } else if (url === "/release") {
    const n = parked.size;
    for (const p of [...parked]) answerPoll(p);
    res.end(String(n));
  } else if (url === "/delay-stats") {
    res.end(JSON.stringify(delayErrors.splice(0)));
  } else if (url.startsWith("/delay?")) {
    delayErrors.push(epochNow() - Number(new URL(url, "http://x").searchParams.get("due")));
    res.end("{}");
  } else {
    res.writeHead(404).end();
  }
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;
server.listen(0, "127.0.0.1", () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on("SIGTERM", () => process.exit(0));
process.on("disconnect", () => process.exit(0));
// A benchmark killed mid-run (timeout, Ctrl-C on a pipe) must not leave its server behind.
process.stdin.on("end", () => process.exit(0)).resume();
