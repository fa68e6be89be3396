// metrics.auth: HTTP basic auth for the status page, /status.json and /metrics. Compared in
// constant time over digests, so neither the length nor a prefix of the password leaks.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export interface BasicAuth {
  user: string;
  password: string;
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** A checker for the configured credentials; with none configured every request passes. */
export function basicAuthChecker(auth: BasicAuth | undefined): (req: IncomingMessage) => boolean {
  if (!auth) return () => true;
  const want = digest(`${auth.user}:${auth.password}`);
  return (req) => {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!m) return false;
    return timingSafeEqual(digest(Buffer.from(m[1]!, "base64").toString("utf8")), want);
  };
}

export const CHALLENGE = { "www-authenticate": 'Basic realm="pollbridge", charset="UTF-8"' };
