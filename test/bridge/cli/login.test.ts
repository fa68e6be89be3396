import { test } from "node:test";
import assert from "node:assert/strict";
import QRCode from "qrcode";
import { PNG } from "pngjs";
import { showQr, loginProblem } from "../../../bridge/cli/login.ts";
import type { Config } from "../../../bridge/config/types.ts";

function sink(): { write: (s: string) => void; text: () => string } {
  let text = "";
  return { write: (s) => void (text += s), text: () => text };
}

test("showQr renders the server's QR PNG in the terminal and names the PNG file", async () => {
  const png = await QRCode.toBuffer("https://ssl.ptlogin2.qq.com/qr?k=abc");
  const out = sink();
  await showQr({ png, pngPath: "/var/lib/pollbridge/webqq-qq.qr.png" }, out);
  assert.match(out.text(), /also saved as \/var\/lib\/pollbridge\/webqq-qq\.qr\.png/);
  assert.match(out.text(), /[█▀▄]/);
});

test("showQr falls back to the PNG path when the image holds no QR code", async () => {
  const blank = new PNG({ width: 8, height: 8 });
  blank.data.fill(255);
  const out = sink();
  await showQr({ png: PNG.sync.write(blank), pngPath: "/s/qr.png" }, out);
  assert.match(out.text(), /could not be shown in the terminal: open the PNG/);
});

test("loginProblem: the network must exist and be webqq", () => {
  const config = { path: "/p.yaml", networks: { qq: { type: "webqq" }, ob: { type: "onebot11", api: "http://x" } } } as unknown as Config;
  assert.equal(loginProblem(config, "qq"), undefined);
  assert.match(loginProblem(config, "zz")!, /no network "zz" in \/p\.yaml \(networks: qq, ob\)/);
  assert.match(loginProblem(config, "ob")!, /is onebot11/);
});
