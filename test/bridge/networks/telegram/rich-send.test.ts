// Rich messages from the relay to Telegram: replies (reply_parameters), pictures and files by URL
// (sendPhoto / sendDocument, with the link as the fallback), edit() and retract(), each with the
// server's refusals and both variants of a fault (before the server acted, and after).
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { alice, assertCleanRun, DEV, DEV_TOPIC, harness, sendError, SMALL } from "./harness.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

/** A loopback file server (what an XMPP upload service is to Telegram): /cat.png, /notes.txt; anything else 404. */
async function fileServer(t: TestContext): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url === "/cat.png") return void res.writeHead(200, { "content-type": "image/png" }).end(PNG);
    if (req.url === "/notes.txt") return void res.writeHead(200, { "content-type": "text/plain" }).end("notes");
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const idOf = (id: string): number => Number(id.split(":").at(-1));

test("features: reply, edit, retract and media natively; mentions are plain text", async (t) => {
  const h = await harness(t);
  const adapter = h.adapter();
  assert.deepEqual(adapter.features, { reply: true, edit: true, retract: true, media: true, mention: false });
  assert.equal(typeof adapter.edit, "function");
  assert.equal(typeof adapter.retract, "function");
  assert.equal(typeof adapter.fetchMedia, "function");
});

test("replyTo becomes reply_parameters (allow_sending_without_reply); a reply to a deleted message still sends; another chat's id goes plain", async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const q = h.sim.inject({ chat: DEV, from: alice, text: "question", thread: 3 });
  const [msg] = await inbox.waitFor(1);
  const { id } = await adapter.send(DEV_TOPIC, "answer", { replyTo: msg!.id });
  const [sent] = h.sim.sent(DEV_TOPIC);
  assert.deepEqual(sent!.params.reply_parameters, { message_id: q.messageId, allow_sending_without_reply: true });
  assert.equal(id, `${DEV_TOPIC}:${sent!.messageId}`);
  // The same chat's message under its whole-chat key names the same message.
  await adapter.send(DEV, "again", { replyTo: `${DEV}:${q.messageId}` });
  assert.deepEqual(h.sim.sent(DEV).at(-1)!.params.reply_parameters, { message_id: q.messageId, allow_sending_without_reply: true });
  // Deleted meanwhile (or never known to the server): the message goes without the reply.
  await adapter.send(DEV, "to nothing", { replyTo: `${DEV}:999` });
  assert.equal(h.sim.sent(DEV).at(-1)!.text, "to nothing");
  // An id of another chat, or not ours at all: a plain message.
  await adapter.send(DEV, "cross", { replyTo: `${SMALL}:1` });
  await adapter.send(DEV, "junk", { replyTo: "no-such-id" });
  assert.deepEqual(h.sim.sent(DEV).slice(-2).map((m) => m.params.reply_parameters), [undefined, undefined]);
  assertCleanRun(h);
});

test("media by URL: sendPhoto / sendDocument with the text as caption (and a reply); the server fetched the bytes", async (t) => {
  const h = await harness(t);
  const files = await fileServer(t);
  const { adapter } = await h.run();
  const first = await adapter.send(DEV, "first");
  const { id } = await adapter.send(DEV, "Alice: a cat", { media: { kind: "image", url: `${files}/cat.png` }, replyTo: first.id });
  const photo = h.sim.sent(DEV).at(-1)!;
  assert.equal(id, `${DEV}:${photo.messageId}`);
  assert.deepEqual([photo.media?.kind, photo.media?.url, photo.text, photo.media?.type], ["photo", `${files}/cat.png`, "Alice: a cat", "image/png"]);
  assert.deepEqual([...photo.media!.data], [...PNG]);
  assert.deepEqual(photo.params.reply_parameters, { message_id: idOf(first.id), allow_sending_without_reply: true });
  await adapter.send(DEV_TOPIC, "", { media: { kind: "file", url: `${files}/notes.txt`, name: "notes.txt" } });
  const doc = h.sim.sent(DEV_TOPIC).at(-1)!;
  assert.deepEqual([doc.media?.kind, doc.threadId, doc.params.caption], ["document", 3, undefined]);
  assertCleanRun(h);
});

test("media the server cannot take goes as text with the link: unreachable URL, not a picture, caption over 1024", async (t) => {
  const h = await harness(t);
  const files = await fileServer(t);
  const { adapter } = await h.run();
  await adapter.send(DEV, "gone", { media: { kind: "image", url: `${files}/missing.png` } });
  await adapter.send(DEV, "text as photo", { media: { kind: "image", url: `${files}/notes.txt` } });
  const long = "x".repeat(1025);
  await adapter.send(DEV, long, { media: { kind: "image", url: `${files}/cat.png` } });
  assert.deepEqual(
    h.sim.sent(DEV).map((m) => [m.media === undefined, m.text]),
    [
      [true, `gone\n${files}/missing.png`],
      [true, `text as photo\n${files}/notes.txt`],
      [true, `${long}\n${files}/cat.png`],
    ],
  );
  assertCleanRun(h);
});

test("edit(): the text changes; the same text again resolves; a caption is edited with editMessageCaption", async (t) => {
  const h = await harness(t);
  const files = await fileServer(t);
  const { adapter } = await h.run();
  const { id } = await adapter.send(DEV, "typo");
  assert.deepEqual(await adapter.edit!(DEV, id, "fixed"), { id });
  assert.deepEqual(h.sim.state.edits, [{ chatId: Number(DEV), messageId: idOf(id), text: "fixed" }]);
  await adapter.edit!(DEV, id, "fixed"); // "message is not modified": already so
  assert.equal(h.sim.state.edits.length, 1);
  const pic = await adapter.send(DEV, "caption", { media: { kind: "image", url: `${files}/cat.png` } });
  await adapter.edit!(DEV, pic.id, "caption, fixed");
  assert.equal(h.sim.state.stored(Number(DEV), idOf(pic.id))!.caption, "caption, fixed");
  assertCleanRun(h);
});

test("edit() refusals are fatal: unknown message, someone else's message, an id of another group, too long", async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  h.sim.inject({ chat: DEV, from: alice, text: "not ours" });
  const [theirs] = await inbox.waitFor(1);
  assert.match((await sendError(adapter.edit!(DEV, `${DEV}:999`, "x"), "fatal")).message, /message 999 is gone \(Bad Request: message to edit not found\)/);
  assert.match((await sendError(adapter.edit!(DEV, theirs!.id, "x"), "fatal")).message, /message can't be edited/);
  assert.match((await sendError(adapter.edit!(DEV, `${SMALL}:1`, "x"), "fatal")).message, /is not a message of this group/);
  const { id } = await adapter.send(DEV, "short");
  assert.equal((await sendError(adapter.edit!(DEV, id, "y".repeat(4097)), "fatal")).kind, "fatal");
  assert.equal((await sendError(adapter.edit!("-1", id, "x"), "fatal")).kind, "fatal");
  assertCleanRun(h);
});

test("edit() faults: before the server acted and after (answer lost) are both 'unknown'; a repeat then leaves the text edited once", async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  for (const fault of ["500", "500-after", "reset", "reset-after"] as const) {
    const { id } = await adapter.send(DEV, `before ${fault}`);
    h.sim.failNextSend(fault);
    assert.equal((await sendError(adapter.edit!(DEV, id, `after ${fault}`))).kind, "unknown");
    assert.equal(h.sim.state.edits.filter((e) => e.messageId === idOf(id)).length, fault.endsWith("-after") ? 1 : 0);
    await adapter.edit!(DEV, id, `after ${fault}`); // the relay's repeat
    assert.equal(h.sim.state.stored(Number(DEV), idOf(id))!.text, `after ${fault}`);
    assert.equal(h.sim.state.edits.filter((e) => e.messageId === idOf(id)).length, 1);
  }
  const { id } = await adapter.send(DEV, "z");
  h.sim.failNextSend({ retryAfter: 2 });
  assert.deepEqual(await sendError(adapter.edit!(DEV, id, "zz")).then((e) => [e.kind, e.retryAfterMs]), ["retry", 2000]);
  assertCleanRun(h);
});

test("retract(): own message deleted; already gone resolves; anyone's with can_delete_messages", async (t) => {
  const h = await harness(t, { chats: [{ id: -1001234567890, title: "Dev Group", type: "supergroup", forum: true, topics: [3], canDeleteMessages: true }, { id: -4242, title: "Small", type: "group" }] });
  const { adapter, inbox } = await h.run();
  const { id } = await adapter.send(DEV, "oops");
  await adapter.retract!(DEV, id);
  assert.deepEqual(h.sim.state.deleted, [{ chatId: Number(DEV), messageId: idOf(id) }]);
  await adapter.retract!(DEV, id); // "message to delete not found": gone is what was asked
  await adapter.retract!(DEV, `${DEV}:4242`);
  h.sim.inject({ chat: DEV, from: alice, text: "spam" });
  const [spam] = await inbox.waitFor(1);
  await adapter.retract!(DEV, spam!.id); // moderation: the bot is an admin with the right
  assert.equal(h.sim.state.deleted.length, 2);
  assertCleanRun(h);
});

test("retract() without the right, or after 48 h: fatal with a clear reason, said once in the log", async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  h.sim.inject({ chat: DEV, from: alice, text: "one" });
  h.sim.inject({ chat: DEV, from: alice, text: "two" });
  const [one, two] = await inbox.waitFor(2);
  for (const m of [one!, two!]) {
    const e = await sendError(adapter.retract!(DEV, m.id), "fatal");
    assert.match(e.message, /can't be deleted .*right to delete messages.*48 hours/);
  }
  assert.equal(h.logs.filter((l) => l.includes("cannot delete messages in")).length, 1);
  const { id } = await adapter.send(DEV, "old");
  h.sim.state.clockOffsetMs = 49 * 3600_000;
  await sendError(adapter.retract!(DEV, id), "fatal");
  assert.equal(h.sim.state.deleted.length, 0);
  assert.match((await sendError(adapter.retract!(DEV, "elsewhere:1"), "fatal")).message, /not a message of this group/);
  assertCleanRun(h);
});

test("retract() faults: before and after the server acted are both 'unknown'; the repeat deletes it (or finds it gone): deleted once", async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run({ sendTimeoutMs: 300 });
  for (const fault of ["500", "500-after", "stall", "stall-after"] as const) {
    const { id } = await adapter.send(DEV, fault);
    h.sim.failNextSend(fault);
    assert.equal((await sendError(adapter.retract!(DEV, id))).kind, "unknown");
    await adapter.retract!(DEV, id);
    assert.equal(h.sim.state.deleted.filter((d) => d.messageId === idOf(id)).length, 1);
  }
  assertCleanRun(h);
});

test("send faults with media: before (nothing posted) and after (posted, answer lost) are 'retry'/'unknown' as for text", async (t) => {
  const h = await harness(t);
  const files = await fileServer(t);
  const { adapter } = await h.run();
  const media = { kind: "image" as const, url: `${files}/cat.png` };
  h.sim.failNextSend("500");
  assert.equal((await sendError(adapter.send(DEV, "a", { media }))).kind, "unknown"); // a 500 may follow a delivery: the server's code says no more
  h.sim.failNextSend("503");
  assert.equal((await sendError(adapter.send(DEV, "b", { media }))).kind, "retry");
  h.sim.failNextSend("reset-after");
  assert.equal((await sendError(adapter.send(DEV, "c", { media }))).kind, "unknown");
  assert.deepEqual(h.sim.sent(DEV).map((m) => [m.text, m.media?.kind]), [["c", "photo"]]);
  assertCleanRun(h);
});

test("ids hold across a restart: a new adapter edits, replies to and deletes what the previous one sent (nothing is kept in memory)", async (t) => {
  const h = await harness(t);
  const first = await h.run();
  const { id } = await first.adapter.send(DEV_TOPIC, "before restart");
  await first.adapter.stop();
  const { adapter } = await h.run();
  await adapter.edit!(DEV_TOPIC, id, "edited after restart");
  await adapter.send(DEV_TOPIC, "reply after restart", { replyTo: id });
  await adapter.retract!(DEV_TOPIC, id);
  assert.equal(h.sim.state.stored(Number(DEV), idOf(id))!.text, "edited after restart");
  assert.deepEqual(h.sim.sent(DEV_TOPIC).at(-1)!.params.reply_parameters, { message_id: idOf(id), allow_sending_without_reply: true });
  assert.deepEqual(h.sim.state.deleted, [{ chatId: Number(DEV), messageId: idOf(id) }]);
  assertCleanRun(h);
});
