// Rich messages end to end: `pollbridge run` between a real Prosody (mod_muc_mam: stanza-ids) and
// the strict Telegram simulator. A room reply becomes a Telegram reply to the right message, a
// room correction an editMessageText of our copy, a room retraction a deleteMessage; after a
// restart of the bridge (the id map is all it keeps), a Telegram edit becomes a XEP-0308
// correction of our message in the room.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { xml, type XmlElement } from "../../bridge/xmpp/xmpp-js.ts";
import { startProsody } from "../helpers/prosody.ts";
import { XmppUser } from "../helpers/xmpp-user.ts";
import { startTelegramSim } from "../sim/telegram.ts";
import { spawnPollbridge } from "./world.ts";

const within = () => AbortSignal.timeout(30_000);
const TG_CHAT = -1001234567890;

const stanzaIdOf = (s: XmlElement, room: string) => s.getChildren("stanza-id", "urn:xmpp:sid:0").find((x) => x.attrs.by === room)?.attrs.id;

test("replies, corrections and retractions both ways through the CLI, and across a restart", { timeout: 120_000 }, async (t) => {
  const passwords = { bridge: `pw-${randomBytes(9).toString("hex")}`, alice: `pw-${randomBytes(9).toString("hex")}` };
  const prosody = await startProsody({ users: passwords });
  t.after(() => prosody.stop());
  const tg = await startTelegramSim();
  t.after(() => tg.close());
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-e2e-rich-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const room = `rich@${prosody.muc}`;
  const config = join(dir, "pollbridge.yaml");
  await writeFile(
    config,
    [
      "state_dir: ./state",
      "log: { level: debug }",
      "xmpp:",
      `  jid: bridge@${prosody.domain}`,
      "  password: ${XMPP_PASSWORD}",
      `  service: ${prosody.service}`,
      "  nick: relay",
      "  sasl_mechanism: PLAIN",
      "networks:",
      `  tg: { type: telegram, token: "\${TG_TOKEN}", api: "${tg.url}" }`,
      "relay: { id_map_max_age: 86400000 }",
      "bridges:",
      `  - xmpp: ${room}`,
      `    tg: "${TG_CHAT}"`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, TG_TOKEN: tg.token };
  const alice = await XmppUser.connect(prosody, "alice", passwords.alice);
  t.after(() => alice.stop());
  await alice.join(room, "alice");

  const fromRelay = (match: (s: XmlElement) => boolean) =>
    alice.waitForStanza((s) => s.is("message") && s.attrs.from === `${room}/relay` && match(s) && s, { fromNow: true, timeout: 30_000 });
  const aliceSends = async (body: string, children: XmlElement[] = []) => {
    const originId = randomUUID();
    const reflected = alice.waitForStanza((s) => s.is("message") && s.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id === originId && s, { fromNow: true });
    await alice.xmpp.send(xml("message", { to: room, type: "groupchat", id: originId }, xml("body", {}, body), xml("origin-id", { xmlns: "urn:xmpp:sid:0", id: originId }), ...children));
    const s = await reflected;
    return { originId, stanzaId: stanzaIdOf(s, room)! };
  };
  const start = async () => {
    const proc = spawnPollbridge(t, ["run", "-c", config], env);
    await alice.waitForStanza((s) => s.is("presence") && s.attrs.from === `${room}/relay` && s.attrs.type !== "unavailable", { fromNow: true, timeout: 30_000 });
    return proc;
  };

  let bridge = await start();
  // Telegram → room; alice replies to our copy: a Telegram reply to the original message.
  const relayed = fromRelay((s) => s.getChildText("body") === "<Tele> cake?");
  const cake = tg.inject({ chat: TG_CHAT, from: { id: 501, first_name: "Tele" }, text: "cake?" });
  const ours = await relayed;
  const quote = "> Tele: cake?\n";
  await aliceSends(`${quote}yes`, [
    xml("reply", { xmlns: "urn:xmpp:reply:0", id: stanzaIdOf(ours, room)!, to: `${room}/relay` }),
    xml("fallback", { xmlns: "urn:xmpp:fallback:0", for: "urn:xmpp:reply:0" }, xml("body", { start: "0", end: String(quote.length) })),
  ]);
  const [reply] = await tg.waitForSent(String(TG_CHAT), 1, within());
  assert.equal(reply?.text, "<alice> yes");
  assert.equal((reply?.params.reply_parameters as { message_id?: number } | undefined)?.message_id, cake.messageId);

  // A correction and a retraction of alice's message: an edit and a delete of our copy.
  const typo = await aliceSends("teh cake");
  const [, copy] = await tg.waitForSent(String(TG_CHAT), 2, within());
  await aliceSends("the cake", [xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: typo.originId })]);
  await tg.state.waitFor(() => (tg.state.edits.length === 1 ? true : undefined), ["edited"], within()); // (a retraction would drop an edit still waiting)
  await aliceSends("", [xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: typo.stanzaId })]);
  await aliceSends("sentinel");
  await tg.waitForSent(String(TG_CHAT), 3, within());
  assert.deepEqual(tg.state.edits.map((e) => [e.messageId, e.text]), [[copy!.messageId, "<alice> the cake"]]);
  assert.deepEqual(tg.state.deleted.map((d) => d.messageId), [copy!.messageId]);
  assert.deepEqual(tg.sent(String(TG_CHAT)).map((m) => m.text), ["<alice> yes", "<alice> teh cake", "<alice> sentinel"], "no correction sent as a second copy");

  // Restart: a Telegram edit of the first message corrects our copy in the room (XEP-0308).
  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0);
  bridge = await start();
  const corrected = fromRelay((s) => s.getChild("replace", "urn:xmpp:message-correct:0") !== undefined);
  tg.injectEdit(TG_CHAT, cake.messageId, "cake!");
  const fix = await corrected;
  assert.match(fix.getChildText("body") ?? "", /^<[^>]+> cake!$/); // (the sim's edited_message names its sender by id)
  assert.equal(fix.getChild("replace", "urn:xmpp:message-correct:0")?.attrs.id, ours.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id);
});
