// The status page in a real browser: headless Chromium (puppeteer-core, the system's binary)
// against `pollbridge run` as a child process, with the WebQQ simulator holding its QR unscanned
// and a real Prosody. Screenshots land in the test's temp dir (POLLBRIDGE_KEEP=1 keeps it).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, startProsody } from "../helpers/prosody.ts";
import { XmppUser } from "../helpers/xmpp-user.ts";
import { startWebqqSim } from "../sim/webqq.ts";
import { spawnPollbridge } from "./world.ts";

// These run inside the page (puppeteer serialises them); the project's types have no DOM lib.
interface El { textContent: string | null; children: ArrayLike<El> }
declare const document: { querySelectorAll(s: string): ArrayLike<El> & Iterable<El>; querySelector(s: string): (El & { complete: boolean; naturalWidth: number }) | null; documentElement: { scrollWidth: number } };
declare const window: { __pwned?: number };

const CHROMIUM = process.env.POLLBRIDGE_CHROMIUM ?? "/usr/bin/chromium";
const GROUP = "Dev Group";
const MEMBER = { name: "xiaoming", card: "小明" };
const WAIT = { timeout: 30_000 };

test("status page: networks and rooms render, the QR appears during a WebQQ login, numbers move as messages flow, chat text stays text", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.diagnostic(`notice: no Chromium at ${CHROMIUM} (apt-get install chromium, or set POLLBRIDGE_CHROMIUM): the status page's browser test is skipped`);
    t.skip(`no Chromium at ${CHROMIUM}`);
    return;
  }
  const { default: puppeteer } = await import("puppeteer-core");

  const passwords = { bridge: `pw-${randomBytes(9).toString("hex")}`, alice: `pw-${randomBytes(9).toString("hex")}`, metrics: `pw-${randomBytes(9).toString("hex")}` };
  const prosody = await startProsody({ users: { bridge: passwords.bridge, alice: passwords.alice } });
  t.after(() => prosody.stop());
  // No autoScan: the QR waits until the test "scans" it, as a phone would.
  const sim = await startWebqqSim({ holdMs: 3_000, groups: [{ name: GROUP, members: [MEMBER] }] });
  t.after(() => sim.close());
  const dir = await mkdtemp(join(tmpdir(), "pollbridge-status-page-"));
  t.after(() => (process.env.POLLBRIDGE_KEEP ? t.diagnostic(`kept ${dir}`) : rm(dir, { recursive: true, force: true })));
  const room = `dev@${prosody.muc}`;
  const port = await freePort();
  const configPath = join(dir, "pollbridge.yaml");
  await writeFile(
    configPath,
    [
      `state_dir: ./state`,
      `log: { level: debug }`,
      `metrics: { listen: "127.0.0.1:${port}", auth: { user: ops, password: "\${METRICS_PASSWORD}" } }`,
      `xmpp: { jid: "bridge@${prosody.domain}", password: "\${XMPP_PASSWORD}", service: "${prosody.service}", nick: qq, sasl_mechanism: PLAIN }`,
      `networks:`,
      `  qq: { type: webqq, poll_hold: 3000, send_interval: 50, endpoints: { ptlogin: "${sim.url}", ui: "${sim.url}", s: "${sim.url}", d1: "${sim.url}" } }`,
      `relay: { drain_timeout: 3000 }`,
      `bridges:`,
      `  - xmpp: ${room}`,
      `    qq: "${GROUP}"`,
      ``,
    ].join("\n"),
    { mode: 0o600 },
  );
  const alice = await XmppUser.connect(prosody, "alice", passwords.alice);
  t.after(() => alice.stop().catch(() => undefined));
  await alice.join(room, "alice");
  const bridge = spawnPollbridge(t, ["run", "-c", configPath], { ...process.env, XMPP_PASSWORD: passwords.bridge, METRICS_PASSWORD: passwords.metrics, POLLBRIDGE_CONFIG: "" });

  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${join(dir, "chromium-profile")}`],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  await page.authenticate({ username: "ops", password: passwords.metrics });
  await page.setViewport({ width: 1100, height: 900 });
  const url = `http://127.0.0.1:${port}/`;
  // The bridge's listener comes up a moment after the process starts: the page load is retried.
  for (let i = 0; ; i++) {
    try {
      await page.goto(url, { waitUntil: "domcontentloaded" });
      break;
    } catch (err) {
      if (i > 150 || bridge.child.exitCode !== null) throw new Error(`status page never answered: ${(err as Error).message}\n${bridge.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200)); // retrying a connection refused, not synchronising
    }
  }

  const cellText = (table: string, rowKey: string, col: number) =>
    page.evaluate(
      (table, rowKey, col) => {
        const row = [...document.querySelectorAll(`#${table} tr`)].find((r) => r.children[0]?.textContent === rowKey);
        return row?.children[col]?.textContent ?? null;
      },
      table,
      rowKey,
      col,
    );
  const waitCell = (table: string, rowKey: string, col: number, want: string) =>
    page.waitForFunction(
      (table, rowKey, col, want) => [...document.querySelectorAll(`#${table} tr`)].find((r) => r.children[0]?.textContent === rowKey)?.children[col]?.textContent === want,
      WAIT,
      table,
      rowKey,
      col,
      want,
    );

  // 1. The login waits for its QR: the page shows the state and the image (a real PNG, decoded).
  await waitCell("networks", "qq", 2, "login-required");
  await page.waitForFunction(() => {
    const img = document.querySelector("#qrs img");
    return img !== null && img.complete && img.naturalWidth > 0;
  }, WAIT);
  assert.equal(await cellText("networks", "qq", 1), "webqq");
  await page.screenshot({ path: join(dir, "status-qr.png"), fullPage: true });

  // 2. Scanned: the QR goes away, the network comes online, the room is joined.
  assert.ok(sim.scan(), "the simulator had a QR waiting");
  await page.waitForFunction(() => document.querySelector("#qrs img") === null, WAIT);
  await waitCell("networks", "qq", 2, "online");
  await waitCell("rooms", room, 1, "joined");
  assert.equal(await cellText("bridges", room, 1), "0");
  assert.equal(await cellText("bridges", room, 2), "0");

  // 3. Messages flow both ways, with markup that must stay text.
  const qqText = `<b>bold</b> <script>window.__pwned = 1</script> & more`;
  const xmppText = `<img src=x onerror="window.__pwned = 2"> hi`;
  sim.inject({ group: GROUP, sender: MEMBER, content: qqText });
  await alice.waitFor((m) => m.nick === "qq" && m.body.includes("bold") && m, WAIT.timeout);
  await alice.say(room, xmppText);
  await sim.waitForSent(GROUP, 1, AbortSignal.timeout(WAIT.timeout));
  await waitCell("bridges", room, 1, "1");
  await waitCell("bridges", room, 2, "1");
  await page.waitForFunction(() => document.querySelectorAll("#recent tr").length === 3, WAIT);
  const recent = await page.evaluate(() => [...document.querySelectorAll("#recent tr")].slice(1).map((r) => Array.from(r.children).map((c) => c.textContent)));
  const texts = recent.map((r) => r[4]);
  assert.ok(texts.includes(`<小明> ${qqText}`), JSON.stringify(recent));
  assert.ok(texts.includes(`<alice> ${xmppText}`), JSON.stringify(recent));
  assert.equal(await page.evaluate(() => document.querySelectorAll("#recent b, #recent script, #recent img").length), 0, "chat markup is not turned into elements");
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.notEqual(await cellText("networks", "qq", 4), "—", "the network's last event time is shown");
  await page.screenshot({ path: join(dir, "status-desktop.png"), fullPage: true });

  // 4. A phone: nothing wider than 390 px forces the page to scroll sideways.
  await page.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 });
  await page.reload({ waitUntil: "domcontentloaded" });
  await waitCell("networks", "qq", 2, "online");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `page is ${width} px wide at 390`);
  await page.screenshot({ path: join(dir, "status-phone.png"), fullPage: true });
  assert.deepEqual(pageErrors, []);

  bridge.child.kill("SIGTERM");
  assert.equal((await bridge.exited).code, 0, bridge.output().slice(-2000));
  assert.ok(!bridge.output().includes(passwords.metrics), "the metrics password never reaches the log");
  t.diagnostic(`screenshots: ${dir}/status-{qr,desktop,phone}.png`);
});
