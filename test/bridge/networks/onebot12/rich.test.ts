// Issue 14 on OneBot 12, at the adapter against the simulator: replies, mentions, pictures, files
// and deletes both ways, a delete of a message never seen, bad segments, a picture above the cap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SendError } from "../../../../bridge/network.ts";
import { MediaDownloadError } from "../../../../bridge/networks/shared/media-download.ts";
import { assertCleanRun, GROUP, harness, member, sendError } from "./harness.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 8, 7, 6, 5, 4, 3, 2]);
const ALICE = member("20001", "alice", "Alice");
const BOB = member("20002", "bob");

test("inbound: a reply, a mention of the bot (taken out, mentionsSelf), a mention of a member by name, a picture and a file as media by file_id; fetchMedia resolves it by get_file", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const pic = h.sim.addFile("cat.png", PNG);
  const doc = h.sim.addFile("notes.txt", new TextEncoder().encode("notes"), "text/plain");
  const first = h.sim.inject({ group: GROUP, member: BOB, message: "first" });
  h.sim.inject({
    group: GROUP,
    member: BOB,
    message: [
      { type: "reply", data: { message_id: first, user_id: "20002" } },
      { type: "mention", data: { user_id: "10001" } },
      { type: "text", data: { text: " hi " } },
      { type: "mention", data: { user_id: ALICE.user_id } },
      { type: "image", data: { file_id: pic } },
      { type: "file", data: { file_id: doc } },
    ],
  });
  h.sim.inject({ group: GROUP, member: ALICE, message: [{ type: "image", data: { file_id: pic } }] });
  const [, msg, bare] = await inbox.waitFor(3);
  assert.equal(msg!.replyTo, `${GROUP}:${first}`);
  assert.equal(msg!.mentionsSelf, true);
  assert.equal(msg!.text, "hi @Alice");
  assert.deepEqual(msg!.media, [{ kind: "image", ref: `file_id:${pic}` }, { kind: "file", ref: `file_id:${doc}` }]);
  assert.equal(bare!.text, ""); // a picture without a caption: the relay shows the picture
  const got = await adapter.fetchMedia!(msg!.media![0]!, 1_000);
  assert.deepEqual([Buffer.from(got.data).equals(Buffer.from(PNG)), got.mime, got.name], [true, "image/png", "cat.png"]);
  const file = await adapter.fetchMedia!(msg!.media![1]!, 1_000);
  assert.deepEqual([new TextDecoder().decode(file.data), file.mime, file.name], ["notes", "text/plain", "notes.txt"]);
  assertCleanRun(h);
});

test("fetchMedia: above maxBytes it is refused while streaming (a fatal too-big: the relay posts a note); a plain URL ref is fetched as is; a missing one (404) a fatal MediaDownloadError", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  const big = h.sim.addFile("big.png", new Uint8Array(64 * 1024));
  await assert.rejects(adapter.fetchMedia!({ kind: "image", ref: `file_id:${big}` }, 1024), (err: Error) => err instanceof MediaDownloadError && err.kind === "fatal" && err.reason === "too-big");
  const ok = await adapter.fetchMedia!({ kind: "image", ref: `${h.sim.url}_sim/file/${big}` }, 64 * 1024);
  assert.equal(ok.data.byteLength, 64 * 1024);
  await assert.rejects(adapter.fetchMedia!({ kind: "image", ref: `${h.sim.url}_sim/nothing` }, 1024), (err: Error) => err instanceof MediaDownloadError && err.kind === "fatal" && err.status === 404);
  // No answer at all: it may work later (the relay retries rather than posting a note).
  await assert.rejects(adapter.fetchMedia!({ kind: "image", ref: "http://127.0.0.1:1/x.png" }, 1024), (err: Error) => err instanceof SendError && err.kind === "retry");
  assertCleanRun(h);
});

test("send: replyTo becomes a reply segment first, a picture is uploaded by URL and sent as an image by its file_id, then the caption with @Name as a mention; the own echo comes back with them", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter, inbox } = await h.run();
  const target = h.sim.inject({ group: GROUP, member: ALICE, message: "question" });
  await inbox.waitFor(1);
  const url = `${h.sim.url}_sim/file/${h.sim.addFile("src.png", PNG)}`;
  const { id } = await adapter.send(GROUP, "@Alice look, @Alicia stays text", { replyTo: `${GROUP}:${target}`, media: { kind: "image", url, name: "src.png" } });
  const [sent] = h.sim.sent(GROUP);
  const [uploaded] = h.sim.state.requestsOf("upload_file");
  assert.deepEqual(uploaded!.params, { type: "url", name: "src.png", url });
  const fileId = sent!.message[1]!.data.file_id as string;
  assert.deepEqual(Buffer.from(h.sim.state.files.get(fileId)!.data), Buffer.from(PNG)); // the server fetched it
  assert.deepEqual(sent!.message, [
    { type: "reply", data: { message_id: target } },
    { type: "image", data: { file_id: fileId } },
    { type: "mention", data: { user_id: ALICE.user_id } },
    { type: "text", data: { text: " look, @Alicia stays text" } },
  ]);
  const [, echo] = await inbox.waitFor(2);
  assert.deepEqual([echo!.own, echo!.id, echo!.text, echo!.replyTo, echo!.media], [true, id, "@Alice look, @Alicia stays text", `${GROUP}:${target}`, [{ kind: "image", ref: `file_id:${fileId}` }]]);
  await adapter.send(GROUP, "", { media: { kind: "file", url, name: "doc.pdf" } });
  assert.deepEqual(h.sim.sent(GROUP)[1]!.message.map((s) => s.type), ["file"]);
  assert.deepEqual(adapter.features, { reply: true, edit: false, retract: true, media: true, mention: true });
  assertCleanRun(h);
});

test("send: a reply to a message the server does not have goes out without it; a replyTo of another group is fatal before anything leaves; a picture the server cannot fetch fails the upload (retry, nothing sent)", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  let dropped = 0;
  h.sim.state.on("reply-dropped", () => dropped++);
  await adapter.send(GROUP, "to nothing", { replyTo: `${GROUP}:424242` });
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.message), [[{ type: "text", data: { text: "to nothing" } }]]);
  assert.equal(dropped, 1);
  await sendError(adapter.send(GROUP, "x", { replyTo: "999:5" }), "fatal");
  const e = await sendError(adapter.send(GROUP, "caption", { media: { kind: "image", url: `${h.sim.url}_sim/nothing` } }), "retry");
  assert.match(e.message, /upload_file/);
  assert.equal(h.sim.sent(GROUP).length, 1);
  assert.equal(h.sim.state.requestsOf("send_message").length, 1);
  assertCleanRun(h);
});

test("inbound: malformed segments render without a throw; a delete notice without a message_id is rejected (counted) and the next event still arrives", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const reasons: string[] = [];
  const { inbox } = await h.run({ onEventRejected: (r) => reasons.push(r) });
  h.sim.inject({ group: GROUP, member: BOB, message: [{ type: "reply", data: {} }, { type: "mention", data: {} }, { type: "image", data: {} }, { type: "file", data: { file_id: 7 } }] });
  h.sim.queueEvent({ id: "bad-delete", type: "notice", detail_type: "group_message_delete", sub_type: "recall", group_id: GROUP, user_id: "20002", operator_id: "20002", time: Date.now() / 1000 });
  h.sim.inject({ group: GROUP, member: BOB, message: "sentinel" });
  const [bad, sentinel] = await inbox.waitFor(2);
  assert.equal(bad!.text, "@?[image]");
  assert.equal(bad!.replyTo, undefined);
  assert.deepEqual(bad!.media, [{ kind: "file", ref: "file_id:7" }]);
  assert.equal(sentinel!.text, "sentinel");
  assert.equal(reasons.length, 1);
  assert.match(reasons[0]!, /group_message_delete: message_id/);
  assertCleanRun(h);
});

test("delete in: notice.group_message_delete is a retract of group:message_id (a message never seen included), handed over durably; our own delete comes back as own; another group's is not delivered", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { botRole: "admin", groups: [{ group_id: GROUP, members: [ALICE, BOB] }, { group_id: "777" }] });
  const before = h.sim.inject({ group: GROUP, member: BOB, message: "said before the bridge ran" });
  h.sim.state.takeEvents(0); // taken by someone else: the bridge never sees it
  const { adapter, inbox } = await h.run();
  inbox.failNext = 2;
  h.sim.deleteMessage(before);
  h.sim.deleteMessage(h.sim.inject({ group: "777", member: BOB, message: "other group" }));
  const said = h.sim.inject({ group: GROUP, member: BOB, message: "oops" });
  await inbox.waitFor(2);
  await adapter.retract!(GROUP, `${GROUP}:${said}`); // the bot, an admin, deletes a member's message
  h.sim.inject({ group: GROUP, member: BOB, message: "sentinel" });
  const msgs = await inbox.waitFor(4);
  assert.deepEqual(
    msgs.map((m) => [m.kind ?? "message", m.id, m.ref ?? null, m.own ?? false, m.text]),
    [
      ["retract", `${GROUP}:delete:${before}`, `${GROUP}:${before}`, false, ""],
      ["message", `${GROUP}:${said}`, null, false, "oops"],
      ["retract", `${GROUP}:delete:${said}`, `${GROUP}:${said}`, true, ""],
      ["message", msgs[3]!.id, null, false, "sentinel"],
    ],
  );
  assert.equal(inbox.failures, 2);
  assertCleanRun(h);
});

test("retract: our own message is deleted; a member's needs admin (fatal, clear message, nothing deleted); one already gone or never known resolves", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { echoOwn: false });
  const { adapter } = await h.run();
  const { id } = await adapter.send(GROUP, "mine");
  await adapter.retract!(GROUP, id);
  assert.equal(h.sim.state.deleted.size, 1);
  await adapter.retract!(GROUP, id); // already gone
  await adapter.retract!(GROUP, `${GROUP}:987654`); // never known
  const theirs = h.sim.inject({ group: GROUP, member: BOB, message: "not yours" });
  const e = await sendError(adapter.retract!(GROUP, `${GROUP}:${theirs}`), "fatal");
  assert.match(e.message, /may not delete .* group admin/);
  assert.equal(h.sim.state.deleted.has(theirs), false);
  await sendError(adapter.retract!("999", `999:1`), "fatal");
  h.sim.state.botRole = "admin";
  await adapter.retract!(GROUP, `${GROUP}:${theirs}`);
  assert.equal(h.sim.state.deleted.size, 2);
  assertCleanRun(h);
});
