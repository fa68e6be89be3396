import { test } from "node:test";
import assert from "node:assert/strict";
import QRCode from "qrcode";
import { decodeQrPng, renderQrTerminal } from "../../../../bridge/networks/webqq/qr-terminal.ts";

test("a QR PNG decodes to its text and renders as terminal blocks", async () => {
  const text = "https://ssl.ptlogin2.qq.com/scan?k=好&x=<1>";
  const png = await QRCode.toBuffer(text);
  assert.equal(decodeQrPng(png), text);
  const rendered = await renderQrTerminal(text);
  assert.match(rendered, /[█▀▄]/);
  assert.ok(rendered.split("\n").length > 10);
});

test("an image without a QR code is a clear error", async () => {
  const { PNG } = await import("pngjs");
  const blank = new PNG({ width: 40, height: 40 });
  blank.data.fill(255);
  assert.throws(() => decodeQrPng(PNG.sync.write(blank)), /no readable QR code/);
});
