// Rich messages from Telegram to the relay: replies, edits (edited_message), photos and documents
// as media with file_id refs, and fetchMedia through getFile and the token-bearing file URL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { alice, assertCleanRun, bob, DEV, DEV_TOPIC, harness, sendError } from "./harness.ts";

test("a reply carries replyTo in the id form; an edit comes as kind 'edit' with ref; the bot's own edits are skipped", async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const first = h.sim.inject({ chat: DEV, from: alice, text: "question" });
  h.sim.inject({ chat: DEV, from: bob, text: "answer", replyTo: first.messageId });
  await inbox.waitFor(2);
  const { id: mine } = await adapter.send(DEV, "relayed");
  h.sim.state.injectEdit(DEV, first.messageId, "question, fixed");
  h.sim.state.injectEdit(DEV, Number(mine.split(":").at(-1)), "relayed, edited by us"); // never relayed back
  const sentinel = h.sim.inject({ chat: DEV, from: bob, text: "sentinel" });
  const msgs = await inbox.waitFor(4);
  await h.sim.waitForConfirmed(sentinel.updateId);
  assert.equal(msgs.length, 4);
  assert.equal(msgs[1]!.replyTo, `${DEV}:${first.messageId}`);
  const edit = msgs[2]!;
  assert.equal(edit.kind, "edit");
  assert.equal(edit.ref, `${DEV}:${first.messageId}`); // the original's InboundMessage.id
  assert.equal(edit.text, "question, fixed");
  assert.equal(edit.senderId, String(alice.id));
  assert.notEqual(edit.id, edit.ref); // its own id, so dedupe keeps both
  assert.match(edit.id, new RegExp(`^${DEV}:${first.messageId}:edit:\\d+$`));
  assert.equal(msgs[3]!.text, "sentinel");
  assertCleanRun(h);
});

test("an edit of a topic message names the topic group, as the original did", async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  const m = h.sim.inject({ chat: DEV, from: alice, text: "in topic", thread: 3 });
  const [orig] = await inbox.waitFor(1);
  h.sim.state.injectEdit(DEV, m.messageId, "in topic, edited");
  const [, edit] = await inbox.waitFor(2);
  assert.equal(orig!.id, `${DEV_TOPIC}:${m.messageId}`);
  assert.deepEqual([edit!.group, edit!.ref, edit!.text], [DEV_TOPIC, orig!.id, "in topic, edited"]);
  assertCleanRun(h);
});

test("photos and documents arrive as media (file_id refs, never a URL) with the caption (else the placeholder) as text; fetchMedia downloads them", async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const small = h.sim.state.addFile(new Uint8Array([1, 2, 3]), "photos/file_1.jpg");
  const big = h.sim.state.addFile(new Uint8Array(2048).fill(7), "photos/file_2.jpg");
  const pdf = h.sim.state.addFile(new TextEncoder().encode("%PDF-1.4 tiny"), "documents/file_3.pdf");
  h.sim.inject({ chat: DEV, from: alice, extra: { photo: [{ ...small, width: 90, height: 90 }, { ...big, width: 1280, height: 960 }], caption: "a cat" } });
  h.sim.inject({ chat: DEV, from: bob, extra: { document: { ...pdf, file_name: "report.pdf", mime_type: "application/pdf" } } });
  const [photo, doc] = await inbox.waitFor(2);
  assert.equal(photo!.text, "a cat");
  assert.deepEqual(photo!.media, [{ kind: "image", ref: big.file_id, name: `photo_${big.file_unique_id}.jpg`, mime: "image/jpeg", size: 2048 }]);
  assert.equal(doc!.text, "[file report.pdf]"); // no caption: the placeholder, never an empty line
  assert.deepEqual(doc!.media, [{ kind: "file", ref: pdf.file_id, name: "report.pdf", mime: "application/pdf", size: pdf.file_size }]);
  for (const m of [photo!, doc!]) assert.ok(!JSON.stringify(m).includes("/file/bot") && !JSON.stringify(m).includes(h.sim.token));

  const got = await adapter.fetchMedia!(photo!.media![0]!, 10_000);
  assert.deepEqual([got.data.length, got.data[0], got.mime, got.name], [2048, 7, "image/jpeg", `photo_${big.file_unique_id}.jpg`]);
  const file = await adapter.fetchMedia!(doc!.media![0]!, 10_000);
  assert.deepEqual([new TextDecoder().decode(file.data), file.mime, file.name], ["%PDF-1.4 tiny", "application/pdf", "report.pdf"]);
  // Without name or mime, they come from the path.
  const bare = await adapter.fetchMedia!({ kind: "file", ref: pdf.file_id }, 10_000);
  assert.deepEqual([bare.name, bare.mime], ["file_3.pdf", "application/pdf"]);
  assert.equal(h.sim.state.counters.downloads, 3);
  assertCleanRun(h); // the file URL holds the token: it is in no log line
});

test("fetchMedia refuses: over maxBytes (known size: no request; unknown: from getFile; lying size: the body cap), over getFile's 20 MB, unknown file_id", async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const f = h.sim.state.addFile(new Uint8Array(5000), "documents/big.bin");
  const tooBig = await sendError(adapter.fetchMedia!({ kind: "file", ref: f.file_id, name: "big.bin", size: 5000 }, 4096), "fatal");
  assert.match(tooBig.message, /"big.bin" of 5000 bytes is over the limit of 4096 bytes/);
  assert.equal(h.sim.state.counters.getFile, 0); // refused before any request
  const unsized = await sendError(adapter.fetchMedia!({ kind: "file", ref: f.file_id, name: "big.bin" }, 4096), "fatal");
  assert.match(unsized.message, /over the limit of 4096 bytes/);
  assert.equal(h.sim.state.counters.downloads, 0);
  // A server whose getFile understates the size: the download stops at the cap.
  const liar = h.sim.state.addFile(new Uint8Array(5000), "documents/liar.bin");
  h.sim.state.files.get(liar.file_id)!.reportedSize = 10;
  const capped = await sendError(adapter.fetchMedia!({ kind: "file", ref: liar.file_id, name: "liar.bin" }, 4096), "fatal");
  assert.match(capped.message, /"liar.bin" .*over the limit of 4096 bytes/);
  const huge = h.sim.state.addFile(new Uint8Array(20 * 1024 * 1024 + 1), "documents/huge.bin");
  const e20 = await sendError(adapter.fetchMedia!({ kind: "file", ref: huge.file_id, name: "huge.bin" }, 100 * 1024 * 1024), "fatal");
  assert.match(e20.message, /over the limit of 20971520 bytes/);
  const unknown = await sendError(adapter.fetchMedia!({ kind: "image", ref: "AgACAgIAAxkBAAI-no-such-file" }, 4096), "fatal");
  assert.match(unknown.message, /invalid file_id/);
  assertCleanRun(h);
});

test("fetchMedia failures (download reset, cut, 500; getFile refused) are 'retry' or 'fatal' and no error message, cause or log line holds the token or the file URL", async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const f = h.sim.state.addFile(new Uint8Array(64 * 1024).fill(3), "documents/secret-path.bin");
  const media = { kind: "file" as const, ref: f.file_id, name: "x.bin" };
  const errors = [];
  for (const fault of ["reset", "truncate", "500"] as const) {
    // As often as the stream's own retries of a GET (the harness allows 2) and once more.
    h.sim.state.downloadFaults.push(fault, fault, fault);
    errors.push(await sendError(adapter.fetchMedia!(media, 1 << 20), "retry"));
    h.sim.state.downloadFaults.length = 0;
  }
  const ok = await adapter.fetchMedia!(media, 1 << 20); // the next try works
  assert.equal(ok.data.length, 64 * 1024);
  h.sim.revokeToken();
  errors.push(await sendError(adapter.fetchMedia!(media, 1 << 20), "retry")); // a refused token: later, once the config is fixed
  for (const e of errors) {
    const all = `${e.message} ${String((e as { cause?: unknown }).cause ?? "")} ${JSON.stringify(e)}`;
    for (const token of h.tokens) assert.ok(!all.includes(token) && !all.includes(token.split(":")[1]!), e.message);
    assert.ok(!all.includes("secret-path"), e.message);
  }
  assertCleanRun(h);
});

test("GIFs, videos, voice messages and static stickers are media too; '@our_bot …' at the start → mentionsSelf, cut out", async (t) => {
  const h = await harness(t);
  const { inbox } = await h.run();
  const gif = h.sim.addFile(new Uint8Array(10), "animations/file_1.mp4");
  const voice = h.sim.addFile(new Uint8Array(4), "voice/file_2.oga");
  const st = h.sim.addFile(new Uint8Array(3), "stickers/file_3.webp");
  h.sim.inject({ chat: DEV, from: alice, extra: { animation: { ...gif, mime_type: "video/mp4", file_name: "dance.mp4" }, caption: "lol" } });
  h.sim.inject({ chat: DEV, from: alice, extra: { voice: { ...voice, mime_type: "audio/ogg", duration: 1 } } });
  h.sim.inject({ chat: DEV, from: alice, extra: { sticker: { ...st, emoji: "😀", is_animated: false, is_video: false } } });
  h.sim.inject({ chat: DEV, from: alice, extra: { sticker: { ...st, emoji: "🎉", is_animated: true, is_video: false } } });
  h.sim.inject({ chat: DEV, from: bob, text: "@Pollbridge_Bot, who wrote that?" });
  h.sim.inject({ chat: DEV, from: bob, text: "@pollbridge_bot" });
  h.sim.inject({ chat: DEV, from: bob, text: "ask @pollbridge_bot" });
  const m = await inbox.waitFor(7);
  assert.deepEqual([m[0]!.text, m[0]!.media], ["lol", [{ kind: "file", ref: gif.file_id, name: "dance.mp4", mime: "video/mp4", size: 10 }]]);
  assert.deepEqual([m[1]!.text, m[1]!.media], ["[voice message]", [{ kind: "file", ref: voice.file_id, name: `voice_${voice.file_unique_id.replace(/[^\w-]/g, "")}.ogg`, mime: "audio/ogg", size: 4 }]]);
  assert.deepEqual([m[2]!.text, m[2]!.media?.[0]?.kind, m[2]!.media?.[0]?.mime], ["[sticker 😀]", "image", "image/webp"]);
  assert.deepEqual([m[3]!.text, m[3]!.media], ["[sticker 🎉]", undefined]); // animated: not a picture
  assert.deepEqual([m[4]!.text, m[4]!.mentionsSelf], ["who wrote that?", true]);
  assert.deepEqual([m[5]!.text, m[5]!.mentionsSelf], ["@pollbridge_bot", undefined]);
  assert.deepEqual([m[6]!.text, m[6]!.mentionsSelf], ["ask @pollbridge_bot", undefined]);
  assertCleanRun(h);
});
