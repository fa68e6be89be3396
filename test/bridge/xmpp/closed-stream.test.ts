// Bytes that arrive after the stream closed (here: after a refused login, the server's late data
// once the client has closed its stream) are dropped: xmpp.js 0.14 has no parser then, and used to
// throw an uncaught TypeError from the socket's data event, ending the process. Real Prosody
// refuses the login; a loopback proxy sends the late bytes once the client has shut its side.
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { xmppClient, type XmppJsClient } from "../../../bridge/xmpp/xmpp-js.ts";
import { prosodyMissing, startProsody, type ProsodyServer } from "../../helpers/prosody.ts";

const skip = await prosodyMissing();
let server: ProsodyServer;

before(async () => {
  if (!skip) server = await startProsody({ users: { bridge: "bridgepw" } });
});
after(() => server?.stop());

/** A proxy to Prosody that, when the client ends its side, sends `late` and only then ends. */
async function lateDataProxy(port: number, late: string): Promise<{ server: Server; service: string; written: Promise<void> }> {
  let markWritten: () => void;
  const written = new Promise<void>((resolve) => (markWritten = resolve));
  const sockets = new Set<Socket>();
  const proxy = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = createConnection(port, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (d: Buffer) => upstream.write(d));
    upstream.on("data", (d: Buffer) => client.write(d));
    client.on("end", () => {
      upstream.destroy();
      client.end(late, () => markWritten());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxy.on("close", () => sockets.forEach((s) => s.destroy()));
  return { server: proxy, service: `xmpp://127.0.0.1:${(proxy.address() as { port: number }).port}`, written };
}

test("data after a refused login and a closed stream is dropped, not an uncaught exception", { skip }, async (t) => {
  const proxy = await lateDataProxy(server.c2sPort, "<message xmlns='jabber:client'><body>late</body></message>");
  t.after(() => new Promise((resolve) => proxy.server.close(resolve)));
  const xmpp: XmppJsClient = xmppClient({
    service: proxy.service,
    domain: server.domain,
    username: "bridge",
    credentials: (auth) => auth({ username: "bridge", password: "wrong" }, "PLAIN"),
  });
  const errors: Error[] = [];
  xmpp.on("error", (err: Error) => errors.push(err));
  await assert.rejects(xmpp.start(), (err: Error) => err.name === "SASLError");
  const disconnected = new Promise<void>((resolve) => xmpp.once("disconnect", () => resolve()));
  // Closes the stream (the parser goes), then the socket; the proxy answers with late bytes.
  await xmpp.stop();
  await proxy.written;
  await disconnected; // the socket is closed: the late bytes were read before its end
  assert.equal(xmpp.status, "offline");
  assert.ok(errors.every((e) => e.name === "SASLError"), `only the refusal: ${errors.map((e) => e.message).join("; ")}`);
});
