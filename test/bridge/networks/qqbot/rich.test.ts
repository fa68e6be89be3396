// Rich messages on the QQ bot API, both ways at the adapter level: quotes (message_reference),
// attachments as media and their download, the bot's @ as mentionsSelf, guild <@!id> as names,
// channel deletes as retractions, recall (retract()) with its refusals and both fault variants,
// and pictures: a channel's image field, a link elsewhere.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { alice, assertCleanRun, bob, CH, echoes, GROUP_OPENID, GRP, harness, others, sendError } from "./harness.ts";

const T = { timeout: 30_000 };

async function fileServer(t: TestContext): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/download?")) return void res.writeHead(200, { "content-type": "image/jpeg" }).end(Buffer.from([0xff, 0xd8, 0xff, 1, 2]));
    if (req.url === "/big") return void res.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.alloc(5000));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("features: channels only → reply; with a group → no native reply (the v2 group API has no quote); recall and media; no edit", T, async (t) => {
  const h = await harness(t);
  assert.deepEqual(h.adapter({ groups: [CH] }).features, { reply: true, edit: false, retract: true, media: true, mention: false });
  assert.deepEqual(h.adapter({ groups: [CH, GRP] }).features, { reply: false, edit: false, retract: true, media: true, mention: false });
  assert.equal(h.adapter().edit, undefined);
});

test("inbound: quote → replyTo, attachments → media (text placeholder when alone), the bot's @ → mentionsSelf, <@!id> → @name", T, async (t) => {
  const h = await harness(t);
  const files = await fileServer(t);
  const { adapter, inbox } = await h.run();
  const q = h.sim.sayInChannel("1001", alice, "question");
  h.sim.sayInChannel("1001", bob, "answer", { at: true, replyTo: q, mentions: [alice] });
  const img = { content_type: "image/jpeg", filename: "cat.jpg", url: `${files}/download?appid=1&fileid=F&rkey=K`, size: 5 };
  h.sim.sayInChannel("1001", alice, "", { attachments: [img] });
  const gid = h.sim.sayInGroup(GROUP_OPENID, "M1", "look", { attachments: [{ content_type: "file", filename: "a.pdf", url: `${files}/big`, size: 5000 }], replyTo: "ROBOT1.0_x" });
  const msgs = await others(inbox, 4);
  assert.equal(msgs[0]!.mentionsSelf, undefined);
  assert.deepEqual([msgs[1]!.text, msgs[1]!.replyTo, msgs[1]!.mentionsSelf], ["@alice answer", q, true]);
  assert.deepEqual([msgs[2]!.text, msgs[2]!.media], ["[image]", [{ kind: "image", ref: img.url, name: "cat.jpg", mime: "image/jpeg", size: 5 }]]);
  assert.equal(msgs[2]!.attachments, undefined);
  assert.deepEqual([msgs[3]!.id, msgs[3]!.text, msgs[3]!.replyTo, msgs[3]!.mentionsSelf], [gid, "look", "ROBOT1.0_x", true]);
  assert.deepEqual(msgs[3]!.media, [{ kind: "file", ref: `${files}/big`, name: "a.pdf", size: 5000 }]);

  const got = await adapter.fetchMedia!(msgs[2]!.media![0]!, 1000);
  assert.deepEqual([[...got.data], got.mime, got.name], [[0xff, 0xd8, 0xff, 1, 2], "image/jpeg", "cat.jpg"]);
  assert.match((await sendError(adapter.fetchMedia!(msgs[3]!.media![0]!, 4096), "fatal")).message, /"a.pdf" of 5000 bytes is over the limit of 4096/);
  const unsized = { ...msgs[3]!.media![0]!, size: undefined };
  assert.match((await sendError(adapter.fetchMedia!(unsized, 4096), "fatal")).message, /over the limit of 4096/);
  const expired = await sendError(adapter.fetchMedia!({ kind: "image", ref: `${files}/expired?rkey=SECRETKEY` }, 4096), "fatal"); // 404: the key expired
  assert.ok(!expired.message.includes("SECRETKEY") && !expired.message.includes(files), expired.message); // the download key is never in an error
  assertCleanRun(h);
});

test("inbound: a channel message deleted (by its author or an admin) → kind 'retract' with ref; our own recall comes back as own", T, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run({ groups: [CH] });
  const m = h.sim.sayInChannel("1001", alice, "oops");
  await others(inbox, 1);
  h.sim.deleteInChannel("1001", m, bob);
  const [, del] = await others(inbox, 2);
  assert.deepEqual([del!.kind, del!.ref, del!.group, del!.senderId, del!.text], ["retract", m, CH, bob.id, ""]);
  h.sim.sayInChannel("1001", alice, "open a window");
  await others(inbox, 3);
  const { id } = await adapter.send(CH, "mine");
  await adapter.retract!(CH, id);
  const own = await echoes(inbox, 2); // the send's echo, then the recall's
  assert.deepEqual([own[1]!.kind, own[1]!.ref], ["retract", id]);
  assertCleanRun(h);
});

test("send: replyTo → message_reference (channels; the quoted message may be gone); an image → the channel's image field (the link when refused); a file or a group → the link", T, async (t) => {
  const h = await harness(t);
  const files = await fileServer(t);
  const { adapter, inbox } = await h.run();
  const q = h.sim.sayInChannel("1001", alice, "question");
  h.sim.sayInGroup(GROUP_OPENID, "M1", "hi");
  await others(inbox, 2);
  await adapter.send(CH, "answer", { replyTo: q });
  await adapter.send(CH, "to a deleted one", { replyTo: "08deadbeef" });
  await adapter.send(CH, "a cat", { media: { kind: "image", url: `${files}/download?cat` } });
  await adapter.send(CH, "notes", { media: { kind: "file", url: "https://xmpp.example/upload/notes.txt", name: "notes.txt" } });
  await adapter.send(GRP, "pic", { media: { kind: "image", url: "https://xmpp.example/upload/p.png" }, replyTo: "ROBOT1.0_y" });
  const ch = h.sim.sent(CH);
  assert.deepEqual(ch[0]!.body.message_reference, { message_id: q, ignore_get_message_error: true });
  assert.deepEqual(ch[1]!.body.message_reference, { message_id: "08deadbeef", ignore_get_message_error: true });
  assert.deepEqual([ch[2]!.text, ch[2]!.body.image], ["a cat", `${files}/download?cat`]);
  assert.deepEqual([ch[3]!.text, ch[3]!.body.image], ["notes\nhttps://xmpp.example/upload/notes.txt", undefined]);
  // A picture the platform cannot fetch: the text goes with the link, once; the quote stays.
  await adapter.send(CH, "lost cat", { media: { kind: "image", url: `${files}/gone.png` }, replyTo: q });
  assert.deepEqual([h.sim.sent(CH).length, h.sim.sent(CH)[4]!.text, h.sim.sent(CH)[4]!.body.image], [5, `lost cat\n${files}/gone.png`, undefined]);
  assert.deepEqual(h.sim.sent(CH)[4]!.body.message_reference, { message_id: q, ignore_get_message_error: true });
  const [g] = h.sim.sent(GRP);
  assert.deepEqual([g!.text, g!.body.message_reference], ["pic\nhttps://xmpp.example/upload/p.png", undefined]);
  assertCleanRun(h); // no message_reference on a group send (the sim counts that a violation)
});

test("retract(): own channel and group messages recalled; gone resolves; others' without admin, or a group message after 2 min: fatal, said once", T, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const theirs = h.sim.sayInChannel("1001", alice, "open");
  h.sim.sayInGroup(GROUP_OPENID, "M1", "open");
  await others(inbox, 2);
  const c = await adapter.send(CH, "c");
  const g = await adapter.send(GRP, "g");
  await adapter.retract!(CH, c.id);
  await adapter.retract!(GRP, g.id);
  assert.deepEqual(h.sim.state.recalled, [{ group: CH, id: c.id }, { group: GRP, id: g.id }]);
  await adapter.retract!(GRP, g.id); // already recalled: 404, done
  for (let i = 0; i < 2; i++) assert.match((await sendError(adapter.retract!(CH, theirs), "fatal")).message, /can't be recalled.*channel admin/);
  assert.equal(h.logs.filter((l) => l.includes("cannot recall messages in channel:1001")).length, 1);
  const late = await adapter.send(GRP, "late");
  h.sim.state.advance(2 * 60_000 + 1);
  assert.match((await sendError(adapter.retract!(GRP, late.id), "fatal")).message, /only its own group messages, and only shortly after/);
  assert.equal((await sendError(adapter.retract!("group:nope", "x"), "fatal")).kind, "fatal");
  assert.equal(h.sim.state.recalled.length, 2);
  assertCleanRun(h);
});

test("retract() as a channel admin recalls anyone's message; faults before (nothing done) and after (done, answer lost): the repeat leaves it recalled once", T, async (t) => {
  const h = await harness(t, { channels: [{ id: "1001", guildId: "9001", botAdmin: true }] });
  const { adapter, inbox } = await h.run({ groups: [CH] });
  for (const fault of ["500", "500-after", "reset", "reset-after"] as const) {
    const id = h.sim.sayInChannel("1001", alice, `spam ${fault}`);
    await others(inbox, h.sim.state.said.size);
    h.sim.failNextSend(fault);
    const e = await sendError(adapter.retract!(CH, id));
    assert.equal(e.kind, fault === "500" ? "retry" : "unknown", `${fault}: ${e.message}`); // "500" is a 503: the server did nothing
    assert.equal(h.sim.state.recalled.filter((r) => r.id === id).length, fault.endsWith("-after") ? 1 : 0);
    await adapter.retract!(CH, id); // the relay's repeat
    assert.equal(h.sim.state.recalled.filter((r) => r.id === id).length, 1);
  }
  assertCleanRun(h);
});

test("ids hold across a restart: a new adapter recalls and quotes what the previous one sent", T, async (t) => {
  const h = await harness(t);
  const first = await h.run({ groups: [CH] });
  h.sim.sayInChannel("1001", alice, "open"); // a reply window, kept across the restart
  await others(first.inbox, 1);
  const { id } = await first.adapter.send(CH, "before restart");
  await first.adapter.stop();
  const { adapter } = await h.run({ groups: [CH] });
  await adapter.send(CH, "quote after restart", { replyTo: id });
  await adapter.retract!(CH, id);
  assert.deepEqual(h.sim.sent(CH).at(-1)!.body.message_reference, { message_id: id, ignore_get_message_error: true });
  assert.deepEqual(h.sim.state.recalled, [{ group: CH, id }]);
  assertCleanRun(h);
});
