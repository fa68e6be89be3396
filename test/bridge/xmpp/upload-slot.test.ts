// XEP-0363 against a service that lies or fails, on a real loopback HTTP server: the IQ side is
// played by a function (what a server could answer), the PUT goes over the wire. Every failure
// is a clear XmppUploadError with the right reason; the slot's headers are filtered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { discoverUploadService, uploadFile, XmppUploadError, type IqRequest, type UploadFailure } from "../../../bridge/xmpp/upload.ts";
import { xml, type XmlElement } from "../../../bridge/xmpp/xmpp-js.ts";

const NS = "urn:xmpp:http:upload:0";
const file = { data: new TextEncoder().encode("hello"), name: "a.txt", mime: "text/plain" };
const service = { jid: "upload.example.org", maxFileSize: 100 };
const opts = { timeout: 5000, allowPlainHttp: false };

interface Put {
  headers: IncomingMessage["headers"];
  body: string;
}

/** A loopback HTTP server answering each PUT with `status` (or destroying the socket), recording what came. */
async function putServer(t: { after(fn: () => unknown): void }, answer: number | "reset"): Promise<{ url: string; puts: Put[] }> {
  const puts: Put[] = [];
  const srv = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    puts.push({ headers: req.headers, body });
    if (answer === "reset") return req.socket.destroy();
    res.writeHead(answer).end();
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => srv.close(resolve)));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/slot/a.txt`, puts };
}

const slotAnswer = (put: string, get: string, headers: [string, string][] = []) => async () =>
  xml("iq", { type: "result" }, xml("slot", { xmlns: NS }, xml("put", { url: put }, ...headers.map(([name, value]) => xml("header", { name }, value))), xml("get", { url: get })));

function stanzaError(condition: string, opts: { type?: string; text?: string; application?: XmlElement } = {}): Error {
  return Object.assign(new Error(condition), { name: "StanzaError", condition, ...opts });
}

const fails = (reason: UploadFailure, pattern?: RegExp) => (err: unknown) =>
  err instanceof XmppUploadError && err.reason === reason && (pattern === undefined || pattern.test(err.message));

test("the slot's headers: only Authorization, Cookie and Expires, without newlines; the bytes and their type go", async (t) => {
  const { url, puts } = await putServer(t, 201);
  const iq = slotAnswer(url, "https://get.example.org/a.txt", [
    ["Authorization", "Bearer t0ken"],
    ["Cookie", "c=1\r\nX-Injected: yes"],
    ["Expires", "Wed, 21 Oct 2030 07:28:00 GMT"],
    ["Host", "evil.example"],
    ["X-Other", "no"],
  ]);
  assert.equal(await uploadFile(iq, service, file, opts), "https://get.example.org/a.txt");
  const [put] = puts;
  assert.equal(put!.body, "hello");
  assert.equal(put!.headers["content-type"], "text/plain");
  assert.equal(put!.headers["content-length"], "5");
  assert.equal(put!.headers.authorization, "Bearer t0ken");
  assert.equal(put!.headers.cookie, "c=1X-Injected: yes");
  assert.equal(put!.headers["x-injected"], undefined);
  assert.equal(put!.headers["x-other"], undefined);
  assert.equal(put!.headers.host, new URL(url).host);
});

test("PUT answers: 413 too-large, 403 refused, 500 and a reset failed (may work later); nothing is retried here", async (t) => {
  for (const [answer, reason] of [[413, "too-large"], [403, "refused"], [500, "failed"], ["reset", "failed"]] as const) {
    const { url, puts } = await putServer(t, answer);
    await assert.rejects(uploadFile(slotAnswer(url, "https://g.example/x"), service, file, opts), fails(reason), String(answer));
    assert.equal(puts.length, 1);
  }
});

test("a lying slot: no URLs, non-http URLs, a plain-http PUT off loopback are refused before any PUT", async () => {
  await assert.rejects(uploadFile(async () => xml("iq", { type: "result" }), service, file, opts), fails("refused", /without usable put\/get/));
  await assert.rejects(uploadFile(slotAnswer("ftp://h.example/x", "https://g.example/x"), service, file, opts), fails("refused"));
  await assert.rejects(uploadFile(slotAnswer("https://h.example/x", "javascript:alert(1)"), service, file, opts), fails("refused"));
  await assert.rejects(
    uploadFile(slotAnswer("http://upload.example.org/x", "https://g.example/x", [["Authorization", "Bearer secret"]]), service, file, opts),
    (err) => fails("refused", /only https/)(err) && !(err as Error).message.includes("secret"),
  );
});

test("slot refusals: file-too-large with its limit, a wait-type error is 'failed', others 'refused'; over max-file-size nothing is asked", async () => {
  const tooLarge = xml("file-too-large", { xmlns: NS }, xml("max-file-size", {}, "4"));
  await assert.rejects(
    uploadFile(async () => { throw stanzaError("not-acceptable", { type: "modify", text: "File too large", application: tooLarge }); }, { jid: service.jid }, file, opts),
    fails("too-large", /max 4 bytes/),
  );
  await assert.rejects(uploadFile(async () => { throw stanzaError("resource-constraint", { type: "wait" }); }, service, file, opts), fails("failed", /resource-constraint/));
  await assert.rejects(uploadFile(async () => { throw stanzaError("forbidden", { type: "auth" }); }, service, file, opts), fails("refused", /forbidden/));
  await assert.rejects(uploadFile(async () => { throw new Error("timeout"); }, service, file, opts), fails("failed"));
  let asked = 0;
  await assert.rejects(
    uploadFile(async () => (asked++, xml("iq")), { jid: service.jid, maxFileSize: 4 }, file, opts),
    fails("too-large", /a\.txt \(5 bytes\) is over the upload limit of upload\.example\.org \(4 bytes\)/),
  );
  assert.equal(asked, 0);
});

test("discovery: the domain itself, an item, a limit in the form; an item that fails is skipped; none is 'no-service'", async () => {
  const info = (features: string[], maxSize?: string) =>
    xml(
      "iq",
      { type: "result" },
      xml(
        "query",
        { xmlns: "http://jabber.org/protocol/disco#info" },
        ...features.map((f) => xml("feature", { var: f })),
        maxSize !== undefined &&
          xml("x", { xmlns: "jabber:x:data", type: "result" }, xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS)), xml("field", { var: "max-file-size" }, xml("value", {}, maxSize))),
      ),
    );
  const items = (...jids: string[]) => xml("iq", { type: "result" }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" }, ...jids.map((jid) => xml("item", { jid }))));
  const server = (answers: Record<string, () => XmlElement>): IqRequest => async (stanza) => {
    const kind = stanza.getChild("query")!.attrs.xmlns!.endsWith("items") ? "items" : "info";
    const answer = answers[`${kind} ${stanza.attrs.to}`];
    if (!answer) throw stanzaError("service-unavailable", { type: "cancel" });
    return answer();
  };

  assert.deepEqual(await discoverUploadService(server({ "info example.org": () => info([NS], "1000") }), "example.org", 1000), { jid: "example.org", maxFileSize: 1000 });
  assert.deepEqual(
    await discoverUploadService(
      server({
        "items example.org": () => items("muc.example.org", "dead.example.org", "up.example.org"),
        "info example.org": () => info([]),
        "info muc.example.org": () => info(["http://jabber.org/protocol/muc"]),
        "info dead.example.org": () => { throw new Error("timeout"); },
        "info up.example.org": () => info([NS], "not a number"),
      }),
      "example.org",
      1000,
    ),
    { jid: "up.example.org" },
  );
  await assert.rejects(
    discoverUploadService(server({ "items example.org": () => items("muc.example.org", "dead.example.org"), "info muc.example.org": () => info([]), "info dead.example.org": () => { throw new Error("timeout"); } }), "example.org", 1000),
    fails("no-service", /no disco#info answer from dead\.example\.org/),
  );
  await assert.rejects(
    discoverUploadService(async () => { throw new Error("socket closed"); }, "example.org", 1000),
    fails("failed", /disco#items got no answer/),
  );
});
