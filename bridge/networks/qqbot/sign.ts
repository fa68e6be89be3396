// Webhook signatures (protocols.md §6.6): an Ed25519 key whose seed is the bot secret repeated to
// 32 bytes; the platform signs timestamp + raw body, and we sign event_ts + plain_token to pass
// the op 13 validation. node:crypto does Ed25519; the seed goes in as a PKCS#8 DER key.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";

/** PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface WebhookKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function webhookKeys(secret: string): WebhookKeys {
  const raw = Buffer.from(secret, "utf8");
  if (raw.length === 0) throw new Error("qqbot: the secret is empty");
  let seed = raw;
  while (seed.length < 32) seed = Buffer.concat([seed, raw]);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed.subarray(0, 32)]), format: "der", type: "pkcs8" });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** Hex signature of `message` (the op 13 answer). */
export function signHex(keys: WebhookKeys, message: string): string {
  return sign(null, Buffer.from(message, "utf8"), keys.privateKey).toString("hex");
}

/**
 * Whether `signatureHex` signs timestamp + body. Refused like the SDKs refuse it: not 64 bytes of
 * hex, or the top three bits of the last byte set (botgo, nonebot).
 */
export function verifySignature(keys: WebhookKeys, signatureHex: string | undefined, timestamp: string | undefined, body: Buffer): boolean {
  if (signatureHex === undefined || timestamp === undefined || !/^[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
  const sig = Buffer.from(signatureHex, "hex");
  if ((sig[63]! & 224) !== 0) return false;
  return verify(null, Buffer.concat([Buffer.from(timestamp, "utf8"), body]), keys.publicKey, sig);
}
