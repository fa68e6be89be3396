// The one media download every network's fetchMedia() uses, against a real loopback HTTP server:
// which failures are "retry" (the relay tries again) and which "fatal" (the relay posts a note),
// and that no error holds the URL or its key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { downloadMedia, fetchMediaRef, MediaDownloadError, type MediaDownload } from "../../../../bridge/networks/shared/media-download.ts";
import { HTTPStream } from "../../../../src/index.ts";
import { freePort } from "../../../helpers/prosody.ts";

const KEY = "RKEY-SECRET-42";

async function server(t: { after(fn: () => unknown): void }): Promise<{ base: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url!, "http://x").pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const status = /^\/status\/(\d+)$/.exec(path);
    if (status) return res.writeHead(Number(status[1]), { "retry-after": "0" }).end("no");
    if (path === "/pic.png") return res.writeHead(200, { "content-type": "Image/PNG; charset=x" }).end(Buffer.from([1, 2, 3]));
    if (path === "/named") return res.writeHead(200, { "content-type": "application/octet-stream", "content-disposition": "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" }).end("pdf");
    if (path === "/declared-big") return res.writeHead(200, { "content-length": "5000" }).end(Buffer.alloc(5000));
    if (path === "/streamed-big") {
      // No Content-Length: the cap has to stop it while the bytes arrive.
      res.writeHead(200);
      for (let i = 0; i < 5; i++) res.write(Buffer.alloc(1000));
      return res.end();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => srv.close(resolve)));
  return { base: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, hits };
}

function streamFor(t: { after(fn: () => unknown): void }): HTTPStream {
  const stream = new HTTPStream({ retry: { retries: 1, minTimeout: 1, maxTimeout: 1 } });
  t.after(() => stream.close());
  return stream;
}

async function failure(p: Promise<unknown>): Promise<MediaDownloadError> {
  const err = await p.then(
    () => assert.fail("the download should have failed"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof MediaDownloadError, String(err));
  assert.ok(!err.message.includes(KEY) && !err.message.includes("127.0.0.1") && err.cause === undefined, err.message);
  return err;
}

test("a 200 gives the bytes, the type (lower case, no parameters) and the answer's file name; fetchMediaRef names it by the network first", async (t) => {
  const { base } = await server(t);
  const stream = streamFor(t);
  const d = (url: string): MediaDownload => ({ url, maxBytes: 1000, label: "test: image", on4xx: "fatal" });
  const pic = await downloadMedia(stream, d(`${base}/pic.png?rkey=${KEY}`));
  assert.deepEqual([[...pic.data], pic.type, pic.fileName], [[1, 2, 3], "image/png", "pic.png"]);
  const named = await fetchMediaRef(stream, { kind: "file", ref: `${base}/named` }, 1000, { network: "test", on4xx: "fatal" });
  assert.deepEqual([new TextDecoder().decode(named.data), named.mime, named.name], ["pdf", "application/octet-stream", "résumé.pdf"]);
  const given = await fetchMediaRef(stream, { kind: "image", ref: "file_id:1", name: "cat.png", mime: "image/webp" }, 1000, { network: "test", url: `${base}/pic.png`, on4xx: "fatal" });
  assert.deepEqual([given.mime, given.name], ["image/webp", "cat.png"]);
  const bare = await fetchMediaRef(stream, { kind: "image", ref: `${base}/named` }, 1000, { network: "test", on4xx: "fatal" });
  assert.equal(bare.name, "résumé.pdf");
});

test("over the limit (declared by the network, by Content-Length, or while streaming) is fatal: a note, no retry", async (t) => {
  const { base, hits } = await server(t);
  const stream = streamFor(t);
  const declared = await failure(fetchMediaRef(stream, { kind: "file", ref: `${base}/pic.png`, name: "a.bin", size: 5000 }, 4096, { network: "test", on4xx: "fatal" }));
  assert.deepEqual([declared.kind, declared.reason, declared.message], ["fatal", "too-big", 'test: file "a.bin" of 5000 bytes is over the limit of 4096 bytes']);
  assert.equal(hits.get("/pic.png"), undefined); // known too big: not even asked
  for (const path of ["/declared-big", "/streamed-big"]) {
    const err = await failure(downloadMedia(stream, { url: `${base}${path}?key=${KEY}`, maxBytes: 4096, label: "test: file", on4xx: "retry" }));
    assert.deepEqual([err.kind, err.reason], ["fatal", "too-big"], path);
    assert.match(err.message, /over the limit of 4096 bytes/);
  }
});

test("a 4xx is what the caller says (fatal: the URL was the only one; retry: a fresh one comes next time); 408, 429 and 5xx are retry; no answer is retry; no http(s) URL is fatal", async (t) => {
  const { base } = await server(t);
  const stream = streamFor(t);
  const get = (path: string, on4xx: "retry" | "fatal") => failure(downloadMedia(stream, { url: `${base}${path}?rkey=${KEY}`, secrets: [KEY], maxBytes: 1000, label: 'test: image "x.png"', on4xx }));
  for (const status of [403, 404, 410]) {
    const fatal = await get(`/status/${status}`, "fatal");
    assert.deepEqual([fatal.kind, fatal.reason, fatal.status, fatal.message], ["fatal", "refused", status, `download of test: image "x.png" answered HTTP ${status}`]);
    assert.equal((await get(`/status/${status}`, "retry")).kind, "retry");
  }
  for (const status of [408, 429, 500, 503]) {
    const later = await get(`/status/${status}`, "fatal");
    assert.equal(later.kind, "retry", String(status));
  }
  const port = await freePort();
  const refused = await failure(downloadMedia(stream, { url: `http://127.0.0.1:${port}/x.png?rkey=${KEY}`, maxBytes: 1000, label: "test: image", on4xx: "fatal" }));
  assert.deepEqual([refused.kind, refused.reason], ["retry", "no-answer"]);
  const stopping = new AbortController();
  stopping.abort();
  const aborted = await failure(downloadMedia(stream, { url: `${base}/pic.png`, maxBytes: 1000, label: "test: image", on4xx: "fatal", signal: stopping.signal }));
  assert.equal(aborted.kind, "retry"); // the network stopping: the file is still there next time
  const noUrl = await failure(downloadMedia(stream, { url: `file:///etc/${KEY}`, maxBytes: 1000, label: "test: image", on4xx: "retry" }));
  assert.deepEqual([noUrl.kind, noUrl.reason], ["fatal", "no-url"]);
});
