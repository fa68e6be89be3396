// Deterministic XEP-0359 origin-ids for outbox items: the same inbound message relayed to the same
// target always gets the same id, so a reflection seen after a restart identifies what was sent.
import { createHash } from "node:crypto";

export function originIdFor(sourceKey: string, target: string, part: number): string {
  const digest = createHash("sha256").update(`${sourceKey}\n${target}\n${part}`).digest("base64url");
  return `pb-${digest.slice(0, 24)}`;
}
