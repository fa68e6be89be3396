// Rich messages through the relay (issue 14): replies, edits, retractions, media and mentions,
// both ways, against an archiving in-memory room and memory networks with and without each
// feature, over a real SQLite outbox and id map. "Nothing else arrived" is proven with a sentinel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import { delivered } from "./delivered.ts";
import { ROOM, startHarness, stopHarness, type HarnessOptions } from "./harness.ts";
import { MemoryMuc } from "./memory-room.ts";

type T = Parameters<typeof startHarness>[0];

/** tg has every feature; qq has none (a WebQQ-like network). The room archives (stanza-ids). */
function rich(t: T, opts: HarnessOptions = {}) {
  return startHarness(t, {
    muc: new MemoryMuc({ archive: true }),
    tgFeatures: { reply: true, edit: true, retract: true, media: true, mention: true },
    ...opts,
  });
}

const QQ = "net:qq:Dev";
const TG = "net:tg:G1";
const IN_ROOM = `xmpp:${ROOM}`;

test("a room reply becomes a native reply where the network has replies, and keeps its quote elsewhere", async (t) => {
  const h = await rich(t);
  await h.qq.push({ id: "q1", group: "Dev", text: "hi all", senderName: "alice" });
  const [copy] = await h.tg.waitForSent(1);
  await delivered(h, IN_ROOM, 1);
  await delivered(h, TG, 1);
  const ours = h.muc.entries(ROOM)[0]!;
  // carol replies to the bridge's copy of alice's message, with the quote her client adds.
  h.muc.post(ROOM, "carol", "> alice: hi all\nhello alice", { rich: { replyTo: { id: ours.stanzaId!, to: `${ROOM}/bridge` }, bodyWithoutFallback: "hello alice" } });
  const sent = await h.tg.waitForSent(2);
  assert.deepEqual([sent[1]?.text, sent[1]?.opts?.replyTo], ["<carol> hello alice", copy!.id], "native, the quote cut out");
  assert.deepEqual((await h.qq.waitForSent(1)).map((m) => m.text), ["<carol> > alice: hi all\nhello alice"], "no replies: the body with its quote");
});

test("a reply to a message said on the network itself names the network's own id", async (t) => {
  const h = await rich(t, { qqFeatures: { reply: true } });
  await h.qq.push({ id: "q1", group: "Dev", text: "question?", senderName: "alice" });
  await delivered(h, IN_ROOM, 1);
  h.muc.post(ROOM, "carol", "> alice: question?\nanswer", { rich: { replyTo: { id: h.muc.entries(ROOM)[0]!.stanzaId! }, bodyWithoutFallback: "answer" } });
  const [m] = await h.qq.waitForSent(1);
  assert.deepEqual([m?.text, m?.opts?.replyTo], ["<carol> answer", "q1"]);
});

test("a network reply becomes XEP-0461 to the room's stanza-id with a short quote; a reply to a relayed room message @-mentions its author", async (t) => {
  const h = await rich(t);
  const carol = h.muc.post(ROOM, "carol", "who is in?");
  const [toQq] = await h.qq.waitForSent(1);
  await delivered(h, QQ, 1);
  await delivered(h, TG, 1);
  // QQ: alice replies to the bridge's copy of carol's message; QQ puts an @ of the bot in it (cut by the network).
  await h.qq.push({ group: "Dev", text: "me", senderName: "alice", replyTo: toQq!.id, mentionsSelf: true });
  await h.muc.waitForCount(ROOM, 2);
  const reply = h.muc.entries(ROOM)[1]!;
  assert.equal(reply.rich?.bodyWithoutFallback, "<alice> @carol me");
  assert.deepEqual(reply.sendOpts?.replyTo, { id: carol.stanzaId, to: `${ROOM}/carol`, fallback: "carol: who is in?" });
  // tg replies natively to its own copy of carol's message.
  const tgSent = await h.tg.waitForSent(2);
  assert.deepEqual([tgSent[1]?.text, tgSent[1]?.opts?.replyTo], ["<alice> @carol me", tgSent[0]?.id]);
});

test("a reply to a message the map does not know goes as plain text; to one it knows, without a native reply, with a quote", async (t) => {
  const h = await rich(t);
  await h.qq.push({ group: "Dev", text: "old news", replyTo: "never-seen" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 1), ["<alice> old news"]);
  assert.equal(h.muc.entries(ROOM)[0]?.sendOpts, undefined);
  // tg replies to a message said on qq: qq has no replies, so qq's copy carries a quote.
  await h.qq.push({ id: "q2", group: "Dev", text: "lunch?", senderName: "bob" });
  const [, tgLunch] = await h.tg.waitForSent(2);
  await delivered(h, TG, 2);
  await h.tg.push({ group: "G1", text: "yes", senderName: "dave", replyTo: tgLunch!.id });
  const qqSent = await h.qq.waitForSent(1);
  assert.deepEqual(qqSent.map((m) => m.text), ["> bob: lunch?\n<dave> yes"]);
});

test("a room correction edits natively where the network edits, and is a marked correction elsewhere, never a second copy", async (t) => {
  const h = await rich(t);
  const orig = h.muc.post(ROOM, "carol", "teh plan", { id: "c-1", originId: "c-1" });
  const [tgCopy] = await h.tg.waitForSent(1);
  await delivered(h, TG, 1);
  await h.qq.waitForSent(1);
  h.muc.post(ROOM, "carol", "the plan", { id: "c-2", originId: "c-2", rich: { replaces: orig.originId! } });
  h.muc.post(ROOM, "carol", "sentinel");
  const qq = (await h.qq.waitForSent(3)).map((m) => m.text);
  assert.deepEqual(qq, ["<carol> teh plan", "<carol> (correction) the plan", "<carol> sentinel"]);
  await h.tg.waitForSent(2);
  assert.deepEqual(h.tg.edits, [{ group: "G1", id: tgCopy!.id, text: "<carol> the plan" }]);
  assert.deepEqual(h.tg.sent.map((m) => m.text), ["<carol> the plan", "<carol> sentinel"], "the original edited in place, no copy");
});

test("an edit of a message still waiting for its target changes it: the target sees one message, corrected", async (t) => {
  const h = await rich(t, { qqOnline: false });
  const orig = h.muc.post(ROOM, "carol", "meet at 5", { id: "c-1", originId: "c-1" });
  h.muc.post(ROOM, "carol", "meet at 6", { originId: "c-2", rich: { replaces: orig.originId! } });
  h.muc.post(ROOM, "carol", "sentinel");
  h.qq.setOnline(true);
  assert.deepEqual((await h.qq.waitForSent(2)).map((m) => m.text), ["<carol> meet at 6", "<carol> sentinel"]);
  assert.equal(h.qq.attempts.length, 2);
});

test("order: an edit queued behind its original in flight goes after it", async (t) => {
  const h = await rich(t);
  h.tg.hold();
  const orig = h.muc.post(ROOM, "carol", "v1", { originId: "c-1" });
  await h.tg.waitForAttempts(1); // the original is out (in flight): the edit must follow it
  h.muc.post(ROOM, "carol", "v2", { originId: "c-2", rich: { replaces: orig.originId! } });
  h.muc.post(ROOM, "carol", "v3", { originId: "c-3", rich: { replaces: orig.originId! } });
  h.muc.post(ROOM, "carol", "sentinel");
  h.tg.release();
  const sent = await h.tg.waitForSent(2);
  assert.deepEqual(sent.map((m) => m.text), ["<carol> v3", "<carol> sentinel"]);
  assert.deepEqual(h.tg.edits.map((e) => e.text), ["<carol> v3"], "the waiting edit took the later text: one edit");
});

test("a network edit is a XEP-0308 correction of our message in the room, a marked correction where the network cannot edit", async (t) => {
  const h = await rich(t);
  await h.tg.push({ id: "t1", group: "G1", text: "helo", senderName: "dave" });
  await delivered(h, IN_ROOM, 1);
  await h.qq.waitForSent(1);
  const ours = h.muc.entries(ROOM)[0]!;
  await h.tg.push({ id: "t1-e", group: "G1", text: "hello", senderName: "dave", kind: "edit", ref: "t1" });
  await h.muc.waitForCount(ROOM, 2);
  const fix = h.muc.entries(ROOM)[1]!;
  assert.deepEqual([fix.body, fix.sendOpts?.replaces], ["<dave> hello", ours.originId]);
  assert.deepEqual((await h.qq.waitForSent(2)).map((m) => m.text), ["<dave> helo", "<dave> (correction) hello"]);
});

test("an edit of an unknown message is relayed as a marked correction", async (t) => {
  const h = await rich(t);
  await h.tg.push({ group: "G1", text: "fixed", senderName: "dave", kind: "edit", ref: "before-the-bridge" });
  assert.deepEqual(await h.muc.waitForCount(ROOM, 1), ["<dave> (correction) fixed"]);
});

test("a room retraction recalls the copies where the network can; a network recall retracts our copy in the room", async (t) => {
  const h = await rich(t);
  const said = h.muc.post(ROOM, "carol", "oops", { originId: "c-1" });
  const [tgCopy] = await h.tg.waitForSent(1);
  await delivered(h, TG, 1);
  await h.qq.waitForSent(1);
  h.muc.post(ROOM, "carol", "", { rich: { retracts: said.stanzaId! } });
  await h.tg.waitUntil(() => h.tg.retractions.length === 1);
  assert.deepEqual(h.tg.retractions, [{ group: "G1", id: tgCopy!.id }]);
  // Someone else's retraction of carol's message is not hers to make: ignored.
  const other = h.muc.post(ROOM, "carol", "stays", { originId: "c-2" });
  await h.tg.waitForSent(2);
  h.muc.post(ROOM, "mallory", "", { rich: { retracts: other.stanzaId! } });
  h.muc.post(ROOM, "carol", "sentinel");
  await h.tg.waitForSent(3);
  assert.equal(h.tg.retractions.length, 1);
  assert.deepEqual(h.qq.sent.map((m) => m.text).slice(0, 2), ["<carol> oops", "<carol> stays"], "qq cannot retract: its copy stays");

  // The other way: dave recalls his message on tg.
  await h.tg.push({ id: "t9", group: "G1", text: "regret", senderName: "dave" });
  await delivered(h, IN_ROOM, 1);
  const ours = h.muc.entries(ROOM).find((e) => e.body === "<dave> regret")!;
  await h.tg.push({ id: "t9-r", group: "G1", text: "", senderName: "dave", kind: "retract", ref: "t9" });
  await h.muc.waitForCount(ROOM, 7);
  assert.deepEqual(h.link.retracted, [{ room: ROOM, target: { stanzaId: ours.stanzaId, originId: ours.originId } }]);
});

test("a retraction of a message still waiting for its target removes it: the target never sees it", async (t) => {
  const h = await rich(t, { qqOnline: false });
  const said = h.muc.post(ROOM, "carol", "wrong room", { originId: "c-1" });
  await h.tg.waitForSent(1);
  h.muc.post(ROOM, "carol", "", { rich: { retracts: said.stanzaId! } });
  await h.tg.waitUntil(() => h.tg.retractions.length === 1);
  h.muc.post(ROOM, "carol", "sentinel");
  h.qq.setOnline(true);
  assert.deepEqual((await h.qq.waitForSent(1)).map((m) => m.text), ["<carol> sentinel"]);
  assert.equal(h.qq.attempts.length, 1);
});

test("a retraction the network refuses for good is a dead letter, logged once per network and reason", async (t) => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
  const h = await rich(t, { relay: { logger: pino({ level: "error" }, sink) } });
  h.tg.refuseRetract("not enough rights to delete a message");
  for (const text of ["a", "b"]) {
    const said = h.muc.post(ROOM, "carol", text);
    await delivered(h, TG, text === "a" ? 1 : 2);
    h.muc.post(ROOM, "carol", "", { rich: { retracts: said.stanzaId! } });
  }
  h.muc.post(ROOM, "carol", "sentinel");
  await h.tg.waitForSent(3);
  assert.equal(h.outbox.inState("failed").filter((i) => i.kind === "retract").length, 2, "visible dead letters");
  assert.equal(lines.filter((l) => l.includes("retraction was refused")).length, 1);
});

test("network media is fetched, uploaded and posted with OOB after a caption; other networks get a note; a network URL is never posted", async (t) => {
  const h = await rich(t, { qqFeatures: { media: true } });
  h.qq.addMedia("file-ref-1", { data: new Uint8Array([1, 2, 3]), mime: "image/jpeg", name: "cat.jpg" });
  await h.qq.push({ group: "Dev", text: "look", senderName: "alice", media: [{ kind: "image", ref: "file-ref-1", name: "cat.jpg", size: 3 }] });
  const bodies = await h.muc.waitForCount(ROOM, 2);
  const url = [...h.muc.uploads.keys()][0]!;
  assert.deepEqual(bodies, ["<alice> look", url]);
  assert.deepEqual(h.muc.entries(ROOM)[1]?.sendOpts?.oob, url);
  assert.deepEqual([...h.muc.uploads.values()][0]?.data, new Uint8Array([1, 2, 3]));
  assert.deepEqual(h.qq.fetches, [{ ref: "file-ref-1", maxBytes: 10 * 1024 * 1024 }]);
  assert.deepEqual((await h.tg.waitForSent(1)).map((m) => m.text), ["<alice> look\n[image cat.jpg, 3 B]"]);
});

test("media over the limit, or without an upload service, becomes a note with its name and size", async (t) => {
  const h = await rich(t, { qqFeatures: { media: true }, relay: { mediaMaxBytes: 4 } });
  h.qq.addMedia("big", { data: new Uint8Array(5), mime: "application/pdf", name: "big.pdf" });
  h.qq.addMedia("small", { data: new Uint8Array(2), mime: "image/png", name: "s.png" });
  await h.qq.push({ group: "Dev", text: "", senderName: "alice", media: [{ kind: "file", ref: "big", name: "big.pdf" }] }); // size unknown: found at fetch
  await h.muc.waitForCount(ROOM, 2);
  h.muc.uploadService = false;
  await h.qq.push({ group: "Dev", text: "pic", senderName: "alice", media: [{ kind: "image", ref: "small", name: "s.png", size: 2 }] });
  const bodies = await h.muc.waitForCount(ROOM, 4);
  assert.deepEqual(bodies, [
    "<alice> [file big.pdf]",
    "<alice> [file big.pdf] (could not be fetched from its network)",
    "<alice> pic",
    "<alice> [image s.png, 2 B] (the XMPP server refused the upload)",
  ]);
  assert.equal(h.muc.uploads.size, 0);
});

test("a room file (OOB, or a body that is only a file link) is posted as media where the network takes a URL, as a link elsewhere", async (t) => {
  const h = await rich(t);
  const url = "https://upload.example/7/photo.png";
  h.muc.post(ROOM, "carol", url, { rich: { oob: { url } } });
  h.muc.post(ROOM, "carol", "https://files.example/report.pdf");
  const tg = await h.tg.waitForSent(2);
  assert.deepEqual(tg.map((m) => [m.text, m.opts?.media]), [
    ["<carol>", { kind: "image", url, name: "photo.png" }],
    ["<carol>", { kind: "file", url: "https://files.example/report.pdf", name: "report.pdf" }],
  ]);
  assert.deepEqual((await h.qq.waitForSent(2)).map((m) => m.text), [`<carol> ${url}`, "<carol> https://files.example/report.pdf"]);
});

test("the id map survives a restart: a reply, an edit and a retraction after it find the message relayed before", async (t) => {
  const muc = new MemoryMuc({ archive: true });
  const first = await rich(t, { muc });
  await first.tg.push({ id: "t1", group: "G1", text: "before restart", senderName: "dave" });
  await delivered(first, IN_ROOM, 1);
  await delivered(first, QQ, 1);
  const dir = first.dir;
  await stopHarness(first);

  const h = await rich(t, { muc, dir });
  const ours = muc.entries(ROOM)[0]!;
  muc.post(ROOM, "carol", "> dave: before restart\nseen it", { rich: { replyTo: { id: ours.stanzaId! }, bodyWithoutFallback: "seen it" } });
  const [reply] = await h.tg.waitForSent(1);
  assert.deepEqual([reply?.text, reply?.opts?.replyTo], ["<carol> seen it", "t1"], "the source's own id, from before the restart");
  await h.tg.push({ group: "G1", text: "after restart", senderName: "dave", kind: "edit", ref: "t1" });
  await muc.waitForCount(ROOM, 3); // (a retraction queued behind a waiting edit drops the edit)
  await h.tg.push({ group: "G1", text: "", senderName: "dave", kind: "retract", ref: "t1" });
  await muc.waitForCount(ROOM, 4);
  const [, , fix, gone] = muc.entries(ROOM);
  assert.deepEqual([fix?.body, fix?.sendOpts?.replaces], ["<dave> after restart", ours.originId]);
  assert.equal(gone?.rich?.retracts, ours.stanzaId);
});

test("an edit or a recall whose answer is lost is sent again (both are idempotent); one refused before acting is retried; neither is doubled as a message", async (t) => {
  const h = await rich(t);
  const said = h.muc.post(ROOM, "carol", "v1", { originId: "c-1" });
  const [copy] = await h.tg.waitForSent(1);
  await delivered(h, TG, 1);
  h.tg.failNext({ kind: "retry" }, { kind: "unknown", delivered: true });
  h.muc.post(ROOM, "carol", "v2", { originId: "c-2", rich: { replaces: said.originId! } });
  await h.tg.waitUntil(() => h.tg.edits.length === 2);
  assert.deepEqual(h.tg.edits.map((e) => [e.id, e.text]), [[copy!.id, "<carol> v2"], [copy!.id, "<carol> v2"]], "before: not applied, retried; after: applied, sent again");
  h.tg.failNext({ kind: "unknown" }, { kind: "unknown", delivered: true });
  h.muc.post(ROOM, "carol", "", { rich: { retracts: said.stanzaId! } });
  await h.tg.waitUntil(() => h.tg.retractions.length === 2);
  h.muc.post(ROOM, "carol", "sentinel");
  await h.tg.waitForSent(2);
  assert.deepEqual(h.tg.sent.map((m) => [m.text, m.retracted ?? false]), [["<carol> v2", true], ["<carol> sentinel", false]]);
  assert.equal(h.metrics.resentBy.get("tg"), undefined, "not counted as a resend that may duplicate");
});

test("a native form the network refuses for good goes in its plain form instead of a dead letter", async (t) => {
  const h = await rich(t);
  await h.qq.push({ id: "q1", group: "Dev", text: "old", senderName: "alice" });
  await delivered(h, TG, 1);
  await delivered(h, IN_ROOM, 1);
  const ours = h.muc.entries(ROOM)[0]!;
  // Telegram: "message to be replied not found" (the replied message was deleted meanwhile).
  h.tg.failNext({ kind: "fatal" });
  h.muc.post(ROOM, "carol", "> alice: old\nnew", { rich: { replyTo: { id: ours.stanzaId! }, bodyWithoutFallback: "new" } });
  const sent = await h.tg.waitForSent(2);
  assert.deepEqual([sent[1]?.text, sent[1]?.opts], ["<carol> > alice: old\nnew", undefined]);
  assert.equal(h.outbox.inState("failed").length, 0);
});
