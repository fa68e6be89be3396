// Rich messages end to end on OneBot 11: `pollbridge run` between a real Prosody (mod_muc_mam:
// stanza-ids; mod_http_file_share: uploads) and the strict OneBot 11 simulator (go-cqhttp, long
// poll). Both ways: a reply (XEP-0461 ↔ `reply` segment), a retraction (XEP-0424 ↔ delete_msg /
// group_recall), a group picture (fetched from the sim, uploaded, posted with OOB), a room
// correction (a new "(correction)" message: OneBot has no edit); after a restart of the bridge the
// id map still maps a recall of a message relayed before it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { xml, type XmlElement } from "../../bridge/xmpp/xmpp-js.ts";
import type { UserMessage } from "../helpers/xmpp-user.ts";
import { startOnebot11Sim } from "../sim/onebot11.ts";
import { aliceIn, spawnPollbridge, writeConfig, xmppSection, xmppSide } from "./world.ts";

const within = () => AbortSignal.timeout(30_000);
const GROUP = 123456;
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8]);
const BOB = { nickname: "bob" };

test("OneBot 11: replies, retractions, pictures and corrections both ways through the CLI, and a recall across a restart", { timeout: 120_000 }, async (t) => {
  const { prosody, passwords, dir } = await xmppSide(t, "pollbridge-e2e-rich-ob11-");
  const sim = await startOnebot11Sim({ flavor: "go-cqhttp" });
  t.after(() => sim.close());
  const room = `richob@${prosody.muc}`;
  const config = await writeConfig(dir, [
    "state_dir: ./state",
    "log: { level: debug }",
    ...xmppSection(prosody, "relay"),
    "networks:",
    `  ob: { type: onebot11, api: "${sim.url}", access_token: "\${OB_TOKEN}", events: long-poll }`,
    "bridges:",
    `  - xmpp: ${room}`,
    `    ob: "${GROUP}"`,
  ]);
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, OB_TOKEN: sim.token, POLLBRIDGE_CONFIG: "" };
  const alice = await aliceIn(t, prosody, passwords.alice, room);

  const fromRelay = (match: (m: UserMessage) => boolean) =>
    alice.waitFor((m) => m.nick === "relay" && match(m) && m, { fromNow: true, timeout: 30_000 });
  const aliceSends = async (body: string, children: XmlElement[] = []) => {
    const originId = randomUUID();
    const reflected = alice.waitFor((m) => m.originId === originId && m, { fromNow: true });
    await alice.xmpp.send(xml("message", { to: room, type: "groupchat", id: originId }, xml("body", {}, body), xml("origin-id", { xmlns: "urn:xmpp:sid:0", id: originId }), ...children));
    const m = await reflected;
    assert.ok(m.stanzaId, "the room (mod_muc_mam) gives every message a stanza-id");
    return { originId, stanzaId: m.stanzaId };
  };
  /** The next message the bridge sends to the group. */
  const nextInGroup = async () => (await sim.waitForSent(GROUP, sim.sent(GROUP).length + 1, within())).at(-1)!;
  const start = async () => {
    const proc = spawnPollbridge(t, ["run", "-c", config], env);
    await alice.waitForStanza((s) => s.is("presence") && s.attrs.from === `${room}/relay` && s.attrs.type !== "unavailable", { fromNow: true, timeout: 30_000 });
    return proc;
  };

  let bridge = await start();
  const firstRun = bridge;

  // Group → room; alice replies to our copy (with a XEP-0428 quote): a reply segment to the original, the quote cut out.
  const cakeInRoom = fromRelay((m) => m.body === "<bob> cake?");
  const cake = sim.inject({ group: GROUP, sender: BOB, message: "cake?" });
  const ourCake = await cakeInRoom;
  const quote = "> bob: cake?\n";
  const yesSent = nextInGroup();
  const yes = await aliceSends(`${quote}yes`, [
    xml("reply", { xmlns: "urn:xmpp:reply:0", id: ourCake.stanzaId!, to: `${room}/relay` }),
    xml("fallback", { xmlns: "urn:xmpp:fallback:0", for: "urn:xmpp:reply:0" }, xml("body", { start: "0", end: String(quote.length) })),
  ]);
  const yesCopy = await yesSent;
  assert.deepEqual(yesCopy.message, [{ type: "reply", data: { id: String(cake) } }, { type: "text", data: { text: "<alice> yes" } }]);

  // A group reply to our copy of alice's message: a XEP-0461 reply to alice's message (its stanza-id).
  const thanksInRoom = fromRelay((m) => m.replyTo !== undefined);
  sim.inject({ group: GROUP, sender: BOB, message: [{ type: "reply", data: { id: String(yesCopy.messageId) } }, { type: "text", data: { text: "thanks" } }] });
  const thanks = await thanksInRoom;
  assert.equal(thanks.replyTo!.id, yes.stanzaId);
  assert.equal(thanks.bodyWithoutFallback ?? thanks.body, "<bob> thanks");

  // A room retraction of alice's message: delete_msg of our copy; the group_recall QQ then reports (our own) goes nowhere.
  const typoSent = nextInGroup();
  const typo = await aliceSends("teh cake");
  const typoCopy = await typoSent;
  assert.equal(typoCopy.text, "<alice> teh cake");
  await aliceSends("", [xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: typo.stanzaId })]);
  await sim.waitForRecall(typoCopy.messageId, within());

  // A group recall of a member's message relayed to the room: a retraction of our copy in the room.
  const oopsInRoom = fromRelay((m) => m.body === "<bob> oops");
  const oops = sim.inject({ group: GROUP, sender: BOB, message: "oops" });
  const ourOops = await oopsInRoom;
  const oopsRetracted = fromRelay((m) => m.retracts !== undefined);
  sim.recall(oops);
  assert.ok([ourOops.stanzaId, ourOops.originId].includes((await oopsRetracted).retracts), "the retraction names our copy");

  // A group picture: fetched from the sim, uploaded to the room's upload service, posted with OOB after a line naming bob.
  const picture = sim.addImage("cat.png", PNG);
  const pictureInRoom = fromRelay((m) => m.oob !== undefined);
  sim.inject({ group: GROUP, sender: BOB, message: [{ type: "image", data: { file: "cat.png", url: picture, file_size: String(PNG.byteLength) } }] });
  const posted = await pictureInRoom;
  const uploads = `http://127.0.0.1:${prosody.httpPort}/`;
  assert.ok(posted.body.startsWith(uploads), `the body is a URL of the upload service: ${posted.body}`);
  assert.equal(posted.oob!.url, posted.body, "the body is exactly the OOB URL");
  assert.notEqual(posted.body, picture);
  const stored = await fetch(posted.body);
  assert.deepEqual(new Uint8Array(await stored.arrayBuffer()), PNG);
  const beforePicture = alice.messages.filter((m) => m.nick === "relay" && !m.delayed);
  assert.match(beforePicture.at(-2)!.body, /^<bob> \[image cat\.png/, "the sender's name goes in a message before the URL");

  // A room correction: a new message marked as a correction (OneBot has no edit), not a second copy.
  const pieSent = nextInGroup();
  const pie = await aliceSends("teh pie");
  assert.equal((await pieSent).text, "<alice> teh pie");
  const fixSent = nextInGroup();
  await aliceSends("the pie", [xml("replace", { xmlns: "urn:xmpp:message-correct:0", id: pie.originId })]);
  assert.equal((await fixSent).text, "<alice> (correction) the pie");

  // Sentinels both ways, then count: nothing relayed twice, no retraction echoed back to the room.
  const groupSentinel = fromRelay((m) => m.body === "<bob> sentinel");
  sim.inject({ group: GROUP, sender: BOB, message: "sentinel" });
  await groupSentinel;
  const roomSentinel = nextInGroup();
  await aliceSends("sentinel");
  assert.equal((await roomSentinel).text, "<alice> sentinel");
  assert.deepEqual(sim.sent(GROUP).map((m) => m.text), ["<alice> yes", "<alice> teh cake", "<alice> teh pie", "<alice> (correction) the pie", "<alice> sentinel"]);
  assert.deepEqual([...sim.state.recalled].sort(), [typoCopy.messageId, oops].sort());
  const relayed = alice.messages.filter((m) => m.nick === "relay" && !m.delayed);
  assert.deepEqual(
    relayed.map((m) => (m.retracts !== undefined ? "(retraction)" : m.oob ? "(picture)" : (m.bodyWithoutFallback ?? m.body).replace(/\[image cat\.png.*\]/, "[image cat.png]"))),
    ["<bob> cake?", "<bob> thanks", "<bob> oops", "(retraction)", "<bob> [image cat.png]", "(picture)", "<bob> sentinel"],
  );
  assert.deepEqual(sim.violations, []);

  // Restart: a recall of a message relayed before it still finds our copy (the id map is on disk).
  const lastInRoom = fromRelay((m) => m.body === "<bob> said before the restart");
  const early = sim.inject({ group: GROUP, sender: BOB, message: "said before the restart" });
  const ourEarly = await lastInRoom;
  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0);
  bridge = await start();
  const earlyRetracted = fromRelay((m) => m.retracts !== undefined);
  sim.recall(early);
  assert.ok([ourEarly.stanzaId, ourEarly.originId].includes((await earlyRetracted).retracts), "the retraction names our copy from before the restart");
  // And the other way: alice retracts her message from before the restart; our copy is recalled.
  await aliceSends("", [xml("retract", { xmlns: "urn:xmpp:message-retract:1", id: yes.stanzaId })]);
  await sim.waitForRecall(yesCopy.messageId, within());
  assert.deepEqual(sim.violations, []);
  const logs = firstRun.output() + bridge.output();
  for (const secret of [...sim.secrets, passwords.bridge]) assert.ok(!logs.includes(secret), "no secret in the logs");
});
