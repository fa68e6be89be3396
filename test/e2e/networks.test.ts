// End to end with every other network: one bridge entry links an XMPP room with a Telegram
// supergroup, a OneBot 11 group and a OneBot 12 group (each a strict simulator), and
// `pollbridge run` relays every message to all the others, exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startOnebot11Sim } from "../sim/onebot11.ts";
import { startOnebot12Sim } from "../sim/onebot12.ts";
import { startTelegramSim } from "../sim/telegram.ts";
import { aliceIn, spawnPollbridge, writeConfig, xmppSection, xmppSide } from "./world.ts";

const within = () => AbortSignal.timeout(30_000);
const TG_CHAT = -1001234567890;
const OB11_GROUP = 123456;
const OB12_GROUP = "12345";

test("one bridge, four networks: each message reaches every other side once, in order, and no secret is logged", async (t) => {
  const { prosody, passwords, dir } = await xmppSide(t, "pollbridge-e2e-nets-");
  const [tg, ob11, ob12] = await Promise.all([startTelegramSim(), startOnebot11Sim(), startOnebot12Sim()]);
  t.after(() => Promise.all([tg.close(), ob11.close(), ob12.close()]));
  const room = `all@${prosody.muc}`;
  const config = await writeConfig(dir, [
    "state_dir: ./state",
    "log: { level: debug }",
    ...xmppSection(prosody, "relay"),
    "networks:",
    `  tg: { type: telegram, token: "\${TG_TOKEN}", api: "${tg.url}" }`,
    `  ob: { type: onebot11, api: "${ob11.url}", access_token: "\${OB_TOKEN}", events: long-poll }`,
    `  ob12: { type: onebot12, url: "${ob12.url}", access_token: "\${OB12_TOKEN}" }`,
    "bridges:",
    `  - xmpp: ${room}`,
    `    tg: "${TG_CHAT}"`,
    `    ob: ${OB11_GROUP}`,
    `    ob12: "${OB12_GROUP}"`,
  ]);
  const env = { ...process.env, XMPP_PASSWORD: passwords.bridge, TG_TOKEN: tg.token, OB_TOKEN: ob11.token ?? "", OB12_TOKEN: ob12.token };

  const alice = await aliceIn(t, prosody, passwords.alice, room);
  const bridge = spawnPollbridge(t, ["run", "-c", config], env);
  await alice.waitForStanza((s) => s.is("presence") && s.attrs.from === `${room}/relay`, 30_000);

  // From Telegram: to the room and both OneBot groups.
  tg.inject({ chat: TG_CHAT, from: { id: 501, first_name: "Tele", last_name: "Gram" }, text: "from telegram <&>" });
  await alice.waitFor((m) => m.nick === "relay" && m.body === "<Tele Gram> from telegram <&>", 30_000);
  assert.equal((await ob11.waitForSent(OB11_GROUP, 1, within()))[0]!.text, "<Tele Gram> from telegram <&>");
  assert.equal((await ob12.waitForSent(OB12_GROUP, 1, within()))[0]!.text, "<Tele Gram> from telegram <&>");

  // From the room: to all three networks.
  await alice.say(room, "from xmpp 你好");
  assert.equal((await tg.waitForSent(String(TG_CHAT), 1, within()))[0]!.text, "<alice> from xmpp 你好");
  assert.equal((await ob11.waitForSent(OB11_GROUP, 2, within()))[1]!.text, "<alice> from xmpp 你好");
  assert.equal((await ob12.waitForSent(OB12_GROUP, 2, within()))[1]!.text, "<alice> from xmpp 你好");

  // From OneBot 11 and OneBot 12: to everyone else, including each other.
  ob11.inject({ group: OB11_GROUP, sender: { userId: 30001, nickname: "obi", card: "Obi Card" }, message: "from onebot11" });
  await alice.waitFor((m) => m.body === "<Obi Card> from onebot11", 30_000);
  ob12.inject({ group: OB12_GROUP, member: { user_id: "40001", user_name: "twelve" }, message: "from onebot12" });
  await alice.waitFor((m) => m.body === "<twelve> from onebot12", 30_000);
  const tgSent = await tg.waitForSent(String(TG_CHAT), 3, within());
  assert.deepEqual(tgSent.map((m) => m.text), ["<alice> from xmpp 你好", "<Obi Card> from onebot11", "<twelve> from onebot12"]);
  assert.equal((await ob12.waitForSent(OB12_GROUP, 3, within()))[2]!.text, "<Obi Card> from onebot11");
  assert.equal((await ob11.waitForSent(OB11_GROUP, 3, within()))[2]!.text, "<twelve> from onebot12");

  // Exactly once: sentinels after the messages under test, one from the room and one from a
  // network, reach every other side; then each side's whole list is counted, so a late duplicate
  // (or an own message sent back) would sit before the sentinel and fail the check.
  await alice.say(room, "sentinel");
  tg.inject({ chat: TG_CHAT, from: { id: 501, first_name: "Tele", last_name: "Gram" }, text: "sentinel" });
  await alice.waitFor((m) => m.nick === "relay" && m.body === "<Tele Gram> sentinel", 30_000);
  await tg.waitForSent(String(TG_CHAT), 4, within());
  await ob11.waitForSent(OB11_GROUP, 5, within());
  await ob12.waitForSent(OB12_GROUP, 5, within());
  const relayed = alice.messages.filter((m) => m.nick === "relay").map((m) => m.body);
  assert.deepEqual(relayed, ["<Tele Gram> from telegram <&>", "<Obi Card> from onebot11", "<twelve> from onebot12", "<Tele Gram> sentinel"]);
  assert.deepEqual(tg.sent(String(TG_CHAT)).map((m) => m.text), ["<alice> from xmpp 你好", "<Obi Card> from onebot11", "<twelve> from onebot12", "<alice> sentinel"]);
  const toOnebot = (other: string) => ["<Tele Gram> from telegram <&>", "<alice> from xmpp 你好", other, "<alice> sentinel", "<Tele Gram> sentinel"];
  assert.deepEqual(ob11.sent(OB11_GROUP).map((m) => m.text), toOnebot("<twelve> from onebot12"));
  assert.deepEqual(ob12.sent(OB12_GROUP).map((m) => m.text), toOnebot("<Obi Card> from onebot11"));
  assert.deepEqual([...tg.violations, ...ob11.violations, ...ob12.violations], []);

  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0, bridge.output().slice(-2000));
  const logs = bridge.output();
  for (const secret of [passwords.bridge, tg.token, ob11.token ?? "", ob12.token]) {
    assert.ok(secret === "" || !logs.includes(secret), `a secret (${secret.slice(0, 4)}…) appears in the logs`);
  }
});
