// Issue 14 on OneBot 11, at the adapter against the simulator: replies, mentions, pictures and
// recalls both ways, a recall of a message never seen, bad segments, a picture above the cap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SendError } from "../../../../bridge/network.ts";
import { MediaDownloadError } from "../../../../bridge/networks/shared/media-download.ts";
import { assertCleanRun, GROUP, harness, sendError } from "./harness.ts";

const G = String(GROUP);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8]);

test("inbound: a reply, an @ of the bot (taken out, mentionsSelf), an @ of a member by name, a picture and a file as media; fetchMedia gives the bytes", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { flavor: "napcat", longPoll: true });
  const { adapter, inbox } = await h.run();
  const alice = h.sim.state.memberByName(GROUP, { nickname: "alice" });
  const url = h.sim.addImage("cat.png", PNG);
  const first = h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "first" });
  h.sim.inject({
    group: GROUP,
    sender: { nickname: "bob" },
    message: [
      { type: "reply", data: { id: String(first), text: "a custom reply text is not the message" } },
      { type: "at", data: { qq: String(h.sim.state.selfId) } },
      { type: "text", data: { text: " hi " } },
      { type: "at", data: { qq: String(alice.userId) } },
      { type: "image", data: { file: "cat.png", url, file_size: String(PNG.byteLength) } },
      { type: "file", data: { file: "notes.txt", url: `${url}?f=1`, file_size: 99 } },
    ],
  });
  const [, msg] = await inbox.waitFor(2);
  assert.equal(msg!.replyTo, `${G}:${first}`);
  assert.equal(msg!.mentionsSelf, true);
  assert.equal(msg!.text, "hi @Alice");
  assert.deepEqual(msg!.media, [
    { kind: "image", ref: url, name: "cat.png", size: PNG.byteLength },
    { kind: "file", ref: `${url}?f=1`, name: "notes.txt", size: 99 },
  ]);
  assert.equal(msg!.kind, undefined);
  const got = await adapter.fetchMedia!(msg!.media![0]!, 1_000);
  assert.deepEqual([Buffer.from(got.data).equals(Buffer.from(PNG)), got.mime, got.name], [true, "image/png", "cat.png"]);
  assertCleanRun(h);
});

test("over a socket transport: fetchMedia refuses a picture above maxBytes while streaming (a fatal too-big: the relay posts a note), a missing one (404) a fatal MediaDownloadError; a send is recalled by delete_msg on the socket", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { flavor: "napcat" });
  const { adapter } = await h.run({ events: "ws", ws: h.sim.wsUrl, api: undefined });
  const { id } = await adapter.send(G, "@Alice via the socket");
  assert.equal(h.sim.sent(GROUP)[0]!.text, "@Alice via the socket");
  assert.equal(h.sim.sent(GROUP)[0]!.message[0]!.type, "at");
  await adapter.retract!(G, id);
  assert.equal(h.sim.state.recalled.size, 1);
  const big = h.sim.addImage("big.png", new Uint8Array(64 * 1024));
  await assert.rejects(adapter.fetchMedia!({ kind: "image", ref: big }, 1024), (err: Error) => err instanceof MediaDownloadError && err.kind === "fatal" && err.reason === "too-big");
  await assert.rejects(adapter.fetchMedia!({ kind: "image", ref: big.replace("big", "gone") }, 1024), (err: Error) => err instanceof MediaDownloadError && err.kind === "fatal" && err.status === 404);
  const ok = await adapter.fetchMedia!({ kind: "image", ref: big }, 64 * 1024);
  assert.equal(ok.data.byteLength, 64 * 1024);
  // NapCat's URLs carry an rkey download key: never in an error the relay logs, nor in our logs.
  const keyed = `${big}?appid=1407&rkey=RKEY-SECRET-123`;
  await adapter.fetchMedia!({ kind: "image", ref: keyed }, 64 * 1024);
  await assert.rejects(adapter.fetchMedia!({ kind: "image", ref: keyed }, 10), (err: Error) => !err.message.includes("RKEY-SECRET"));
  await assert.rejects(adapter.fetchMedia!({ kind: "image", ref: keyed.replace("big", "gone") }, 10), (err: Error) => !err.message.includes("RKEY-SECRET"));
  assertCleanRun(h, [...h.sim.secrets, "RKEY-SECRET-123"]);
});

test("send: replyTo becomes a reply segment first, an @Name of a member an at segment, a picture an image segment by URL (fetched by the server) before its caption; the own echo reads back as the text sent", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { echoOwn: true, messageFormat: "array" });
  const { adapter, inbox } = await h.run();
  const alice = h.sim.state.memberByName(GROUP, { nickname: "alice" });
  const target = h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "question" });
  await inbox.waitFor(1);
  const url = h.sim.addImage("pic.png", PNG);
  const { id } = await adapter.send(G, "@Alice look, @Alicia and a@Alice stay text", { replyTo: `${G}:${target}`, media: { kind: "image", url } });
  const [sent] = h.sim.sent(GROUP);
  assert.deepEqual(sent!.message, [
    { type: "reply", data: { id: String(target) } },
    { type: "image", data: { file: url } },
    { type: "at", data: { qq: String(alice.userId) } },
    { type: "text", data: { text: " look, @Alicia and a@Alice stay text" } },
  ]);
  assert.deepEqual(h.sim.state.fetched, [{ url, bytes: PNG.byteLength }]);
  const [, echo] = await inbox.waitFor(2);
  assert.deepEqual([echo!.own, echo!.id, echo!.text, echo!.replyTo], [true, id, "@Alice look, @Alicia and a@Alice stay text", `${G}:${target}`]);
  assert.deepEqual(echo!.media?.map((m) => m.ref), [url]);
  // A file by URL cannot be a group message segment everywhere: its name and link.
  await adapter.send(G, "here", { media: { kind: "file", url: `${url}?x`, name: "doc.pdf" } });
  assert.equal(h.sim.sent(GROUP)[1]!.text, `here\ndoc.pdf: ${url}?x`);
  assert.deepEqual(adapter.features, { reply: true, edit: false, retract: true, media: true, mention: true });
  assertCleanRun(h);
});

test("send: a reply to a message the server does not know goes out without the reply (as go-cqhttp and NapCat do); a replyTo of another group is fatal before anything is sent; a picture the server cannot fetch fails the send (nothing sent)", { timeout: 10_000 }, async (t) => {
  const h = await harness(t);
  const { adapter } = await h.run();
  let dropped = 0;
  h.sim.state.on("reply-dropped", () => dropped++);
  await adapter.send(G, "to nothing", { replyTo: `${G}:424242` });
  assert.deepEqual(h.sim.sent(GROUP).map((m) => m.message), [[{ type: "text", data: { text: "to nothing" } }]]);
  assert.equal(dropped, 1);
  const wrong = await sendError(adapter.send(G, "x", { replyTo: "999:5" }), "fatal");
  assert.match(wrong.message, /not of group/);
  await sendError(adapter.send(G, "x", { replyTo: `${G}:abc` }), "fatal");
  const missing = h.sim.addImage("a.png", PNG).replace("a.png", "missing.png");
  const e = await sendError(adapter.send(G, "caption", { media: { kind: "image", url: missing } }));
  assert.ok(e.kind === "unknown" || e.kind === "retry", e.kind); // go-cqhttp's retcode 100 says "maybe"
  assert.equal(h.sim.sent(GROUP).length, 1);
  assertCleanRun(h);
});

test("inbound: malformed segments are rendered, not thrown; a malformed recall notice is rejected (counted) and the next event still arrives", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { flavor: "napcat", longPoll: true });
  const reasons: string[] = [];
  const { inbox } = await h.run({}, { onEventRejected: (r) => reasons.push(r) });
  h.sim.injectEvent({
    post_type: "message", message_type: "group", group_id: GROUP, user_id: 44, message_id: 71, sender: { nickname: "m" },
    message: [{ type: "reply", data: {} }, { type: "at", data: {} }, { type: "image", data: { file: "not-a-url" } }, { type: "file", data: { name: "a.zip" } }, { type: "image", data: { url: "javascript:alert(1)" } }],
  });
  h.sim.injectEvent({ post_type: "notice", notice_type: "group_recall", group_id: GROUP, user_id: 44, operator_id: 44 }); // no message_id
  h.sim.inject({ group: GROUP, sender: { nickname: "m" }, message: "sentinel" });
  const [bad, sentinel] = await inbox.waitFor(2);
  assert.equal(bad!.text, "@[image][file a.zip][image]");
  assert.equal(bad!.replyTo, undefined);
  assert.equal(bad!.media, undefined);
  assert.equal(sentinel!.text, "sentinel");
  assert.deepEqual(reasons, ["group_recall notice of an unusable shape"]);
  assertCleanRun(h);
});

test("recall in: a group_recall notice is a retract of group:message_id (a message never seen included), handed over durably; our own recall comes back as own; another group's is not delivered", { timeout: 10_000 }, async (t) => {
  const h = await harness(t, { botRole: "admin", groups: [{ id: GROUP }, { id: 777 }] });
  const before = h.sim.inject({ group: GROUP, sender: { nickname: "early" }, message: "said before the bridge ran" });
  h.sim.state.take(0); // taken by someone else: the bridge never sees it
  const { adapter, inbox } = await h.run();
  inbox.failNext = 2; // the sink fails: the recall is kept and handed over again
  h.sim.recall(before);
  const elsewhere = h.sim.inject({ group: 777, sender: { nickname: "x" }, message: "other group" });
  h.sim.recall(elsewhere);
  const said = h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "oops" });
  await adapter.retract!(G, `${G}:${said}`); // the bot (an admin) recalls a member's message
  h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "sentinel" });
  const msgs = await inbox.waitFor(4);
  assert.deepEqual(
    msgs.map((m) => [m.kind ?? "message", m.id, m.ref ?? null, m.own ?? false, m.text]),
    [
      ["retract", `${G}:recall:${before}`, `${G}:${before}`, false, ""],
      ["message", `${G}:${said}`, null, false, "oops"],
      ["retract", `${G}:recall:${said}`, `${G}:${said}`, true, ""],
      ["message", msgs[3]!.id, null, false, "sentinel"],
    ],
  );
  assert.equal(inbox.failures, 2);
  assertCleanRun(h);
});

test("retract: our own message is recalled; a member's needs admin, and our own after QQ's 2 minutes too (fatal, clear message, nothing recalled); one already gone or never known resolves; a lost answer is a plain retry", { timeout: 10_000 }, async (t) => {
  for (const flavor of ["go-cqhttp", "napcat"] as const) {
    const h = await harness(t, { flavor, longPoll: true });
    const { adapter } = await h.run();
    const { id } = await adapter.send(G, "mine");
    await adapter.retract!(G, id);
    assert.equal(h.sim.state.recalled.size, 1);
    await adapter.retract!(G, id); // already gone
    await adapter.retract!(G, `${G}:987654`); // never known
    const theirs = h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "not yours" });
    const e = await sendError(adapter.retract!(G, `${G}:${theirs}`), "fatal");
    assert.match(e.message, /refused to recall .* group admin/);
    assert.equal(h.sim.state.recalled.has(theirs), false);
    const { id: late } = await adapter.send(G, "too old to recall");
    h.sim.state.recallWindowSeconds = -1; // QQ's 2 minutes have passed
    await sendError(adapter.retract!(G, late), "fatal");
    h.sim.state.recallWindowSeconds = 120;
    h.sim.state.botRole = "admin";
    const { id: again } = await adapter.send(G, "again");
    h.sim.failNext("delete_msg", "reset-after");
    const lost = await sendError(adapter.retract!(G, again), "retry");
    assert.ok(lost instanceof SendError);
    await adapter.retract!(G, again); // the retry finds it gone
    await adapter.retract!(G, `${G}:${theirs}`);
    assert.equal(h.sim.state.recalled.size, 3);
    h.sim.failNext("delete_msg", "500"); // nothing done, and the answer says so only by its status
    await sendError(adapter.retract!(G, late), "retry");
    await sendError(adapter.retract!(G, "999:1"), "fatal");
    await sendError(adapter.retract!("999", "999:1"), "fatal"); // not a configured group
    await adapter.retract!(G, late); // as admin, also past the 2 minutes
    assert.equal(h.sim.state.recalled.size, 4);
    assertCleanRun(h);
  }
});

test("group files: go-cqhttp's and Lagrange's group_upload notice, NapCat's message with a file segment (its notice not a second copy), each once as a file; fetchMedia gets it (by url, or by get_group_file_url)", { timeout: 15_000 }, async (t) => {
  const data = new TextEncoder().encode("file body");
  for (const flavor of ["go-cqhttp", "lagrange", "napcat"] as const) {
    const h = await harness(t, { flavor, longPoll: true });
    const { adapter, inbox } = await h.run();
    const { fileId, messageId } = h.sim.uploadFile(GROUP, { nickname: "bob" }, "report.pdf", data);
    h.sim.inject({ group: GROUP, sender: { nickname: "bob" }, message: "sentinel" });
    const msgs = await inbox.waitFor(2);
    await h.sim.waitForDrained();
    assert.equal(inbox.messages.length, 2, flavor);
    const [file, sentinel] = msgs;
    assert.equal(sentinel!.text, "sentinel");
    assert.deepEqual([file!.text, file!.senderName, file!.media?.length, file!.media![0]!.kind, file!.media![0]!.name, file!.media![0]!.size], ["", "bob", 1, "file", "report.pdf", data.byteLength], flavor);
    assert.equal(file!.id, flavor === "napcat" ? `${G}:${messageId}` : `${G}:upload:${fileId}`);
    assert.equal(file!.media![0]!.ref.startsWith("group_file:"), flavor !== "go-cqhttp", file!.media![0]!.ref);
    const got = await adapter.fetchMedia!(file!.media![0]!, 1_000);
    assert.deepEqual([new TextDecoder().decode(got.data), got.name], ["file body", "report.pdf"]);
    assertCleanRun(h);
  }
});
