// The login QR for a terminal: decode the server's PNG, re-render it as text blocks.
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import QRCode from "qrcode";

// jsqr is CommonJS with a `default` property; under nodenext its types see only that property.
const jsQR = jsQRModule.default;

/** The text a QR PNG encodes; throws when the image holds no readable QR code. */
export function decodeQrPng(png: Uint8Array): string {
  const image = PNG.sync.read(Buffer.from(png));
  const code = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height);
  if (!code) throw new Error("the QR image holds no readable QR code");
  return code.data;
}

/** Terminal rendering (half-height blocks) of a QR code for `text`. */
export function renderQrTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: "terminal", small: true });
}

/** Shows the QR in a terminal (or says to open the PNG when it could not be decoded) and where the PNG is. */
export async function printQr(qr: { pngPath: string; text: string }, out: { write(s: string): unknown }): Promise<void> {
  const art = qr.text === "" ? "(the QR image could not be shown in the terminal: open the PNG)\n" : await renderQrTerminal(qr.text);
  out.write(`${art}\nScan this QR code with the QQ mobile app (also saved as ${qr.pngPath}).\n`);
}
