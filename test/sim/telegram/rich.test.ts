// The simulator refuses what the Bot API refuses for rich messages: replies to unknown messages,
// edits that change nothing or touch others' messages, deletes without the right or after 48 h,
// unknown file ids, downloads with a wrong token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTelegramSim, type TelegramSim } from "../telegram.ts";

type Answer = { ok: boolean; result?: any; error_code?: number; description?: string };

function call(sim: TelegramSim, method: string, params: Record<string, unknown>): Promise<Answer> {
  return fetch(`${sim.url}/bot${sim.token}/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) }).then((r) => r.json() as Promise<Answer>);
}

const DEV = -1001234567890;
const alice = { id: 501, first_name: "Alice" };

test("sim: reply_parameters to an unknown message is refused unless allow_sending_without_reply; a form-encoded one is read too", async (t) => {
  const sim = await startTelegramSim();
  t.after(() => sim.close());
  const m = sim.inject({ chat: DEV, from: alice, text: "hi" });
  assert.equal((await call(sim, "sendMessage", { chat_id: DEV, text: "r", reply_parameters: { message_id: m.messageId } })).ok, true);
  const refused = await call(sim, "sendMessage", { chat_id: DEV, text: "r", reply_parameters: { message_id: 999 } });
  assert.deepEqual([refused.error_code, refused.description], [400, "Bad Request: message to be replied not found"]);
  assert.equal((await call(sim, "sendMessage", { chat_id: DEV, text: "r", reply_parameters: { message_id: 999, allow_sending_without_reply: true } })).ok, true);
  const form = await fetch(`${sim.url}/bot${sim.token}/sendMessage`, { method: "POST", body: new URLSearchParams({ chat_id: String(DEV), text: "f", reply_parameters: JSON.stringify({ message_id: 999 }) }) }).then((r) => r.json() as Promise<Answer>);
  assert.equal(form.description, "Bad Request: message to be replied not found");
  assert.deepEqual(sim.violations, []);
});

test("sim: editMessageText — not modified, not found, not the bot's, no text; deleteMessage — rights and 48 h", async (t) => {
  const sim = await startTelegramSim({ chats: [{ id: DEV, title: "Dev", type: "supergroup" }, { id: -42, title: "Mod", type: "supergroup", canDeleteMessages: true }] });
  t.after(() => sim.close());
  const sent = await call(sim, "sendMessage", { chat_id: DEV, text: "mine" });
  const id = sent.result.message_id;
  const theirs = sim.inject({ chat: DEV, from: alice, text: "theirs" });
  const desc = async (method: string, p: Record<string, unknown>) => (await call(sim, method, p)).description;
  assert.match((await desc("editMessageText", { chat_id: DEV, message_id: id, text: "mine" }))!, /^Bad Request: message is not modified/);
  assert.equal(await desc("editMessageText", { chat_id: DEV, message_id: 999, text: "x" }), "Bad Request: message to edit not found");
  assert.equal(await desc("editMessageText", { chat_id: DEV, message_id: theirs.messageId, text: "x" }), "Bad Request: message can't be edited");
  assert.equal(await desc("editMessageCaption", { chat_id: DEV, message_id: id, caption: "x" }), "Bad Request: there is no caption in the message to edit");
  const edited = await call(sim, "editMessageText", { chat_id: DEV, message_id: id, text: "mine!" });
  assert.equal(edited.result.text, "mine!");
  assert.equal(typeof edited.result.edit_date, "number");
  assert.equal(await desc("deleteMessage", { chat_id: DEV, message_id: theirs.messageId }), "Bad Request: message can't be deleted");
  assert.equal((await call(sim, "deleteMessage", { chat_id: DEV, message_id: id })).result, true);
  assert.equal(await desc("deleteMessage", { chat_id: DEV, message_id: id }), "Bad Request: message to delete not found");
  assert.equal(await desc("editMessageText", { chat_id: DEV, message_id: id, text: "z" }), "Bad Request: message to edit not found");
  const mod = sim.inject({ chat: -42, from: alice, text: "spam" });
  const old = await call(sim, "sendMessage", { chat_id: -42, text: "old" });
  sim.state.clockOffsetMs = 48 * 3600_000;
  assert.equal(await desc("deleteMessage", { chat_id: -42, message_id: old.result.message_id }), "Bad Request: message can't be deleted");
  sim.state.clockOffsetMs = 0;
  assert.equal((await call(sim, "deleteMessage", { chat_id: -42, message_id: mod.messageId })).result, true); // an admin's right
  assert.deepEqual(sim.violations, []);
});

test("sim: getFile and the download — unknown id, over 20 MB, the path under the token, a wrong token", async (t) => {
  const sim = await startTelegramSim();
  t.after(() => sim.close());
  const f = sim.state.addFile(new Uint8Array([9, 8, 7]), "photos/file_9.jpg");
  const got = await call(sim, "getFile", { file_id: f.file_id });
  assert.deepEqual(got.result, { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: 3, file_path: "photos/file_9.jpg" });
  assert.equal((await call(sim, "getFile", { file_id: "nope" })).description, "Bad Request: invalid file_id");
  const huge = sim.state.addFile(new Uint8Array(20 * 1024 * 1024 + 1));
  assert.equal((await call(sim, "getFile", { file_id: huge.file_id })).description, "Bad Request: file is too big");
  const body = await fetch(`${sim.url}/file/bot${sim.token}/photos/file_9.jpg`);
  assert.deepEqual([...new Uint8Array(await body.arrayBuffer())], [9, 8, 7]);
  assert.equal((await fetch(`${sim.url}/file/bot1:wrong/photos/file_9.jpg`)).status, 401);
  assert.equal((await fetch(`${sim.url}/file/bot${sim.token}/photos/none.jpg`)).status, 404);
});

test("sim: sendPhoto by a URL that is not an image, or unreachable, or by an unknown file_id is refused; a caption over 1024 too", async (t) => {
  const sim = await startTelegramSim();
  t.after(() => sim.close());
  const desc = async (p: Record<string, unknown>) => (await call(sim, "sendPhoto", { chat_id: DEV, ...p })).description;
  assert.equal(await desc({ photo: `${sim.url}/bot${sim.token}/getMe` }), "Bad Request: wrong type of the web page content");
  assert.equal(await desc({ photo: "http://127.0.0.1:1/x.png" }), "Bad Request: failed to get HTTP URL content");
  assert.equal(await desc({ photo: "AgACAgIAAx-unknown" }), "Bad Request: wrong file identifier/HTTP URL specified");
  assert.equal(await desc({ photo: "AgACAgIAAx-unknown", caption: "c".repeat(1025) }), "Bad Request: message caption is too long");
  assert.equal(await desc({}), "Bad Request: there is no photo in the request");
  const f = sim.state.addFile(new Uint8Array([1]));
  assert.equal((await call(sim, "sendDocument", { chat_id: DEV, document: f.file_id, caption: "by id" })).ok, true);
  assert.equal(sim.sent()[0]!.text, "by id");
});
