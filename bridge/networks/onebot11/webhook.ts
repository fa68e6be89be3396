// Our HTTP server for OneBot 11 HTTP POST reporting (protocols.md §2.2), on the bridge's one
// bounded listener (bridge/http/listener.ts: connections cap, request timeout, header cap). With a
// secret, `X-Signature: sha1=<hex HMAC-SHA1(secret, raw body)>` is checked, hex in either case
// (go-cqhttp lowercase, Lagrange UPPER); an empty secret never turns checking off (config refuses
// it, and here it is treated as set). 204 only once the sink took the event: the reporter retries on
// anything else (go-cqhttp max-retries 3), and a retry of an event already taken is not delivered twice.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Logger } from "pino";
import { readBody, reply, startListener } from "../../http/listener.ts";
import { RepeatedWarning } from "../shared/repeated-warning.ts";
import type { EventIntake } from "./source.ts";
import { snippet } from "../shared/snippet.ts";

/** Larger bodies are refused (413) before a byte more is read: an event is a few kilobytes. */
export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024;

export interface WebhookOptions {
  listen: string;
  path?: string;
  /** undefined: no signature checked (config allows it only on loopback or with insecure_no_secret). */
  secret?: string;
  /** Body cap in bytes (webhook.max_body), default 64 KiB. */
  max_body?: number;
  insecure_no_secret?: boolean;
  inbound: EventIntake;
  log: Logger;
  signal: AbortSignal;
  /** Seconds a request (headers and body) may take; default 10. */
  requestTimeoutMs?: number;
  /** Called on every event that passed the checks (the server reaches us). */
  onEvent?: () => void;
}

export interface WebhookServer {
  /** e.g. http://127.0.0.1:5701/ (port 0 in the config: the port picked). */
  readonly url: string;
  close(): Promise<void>;
}

/** Whether `header` is `sha1=<hex>` of the body under `secret`; hex compared case-insensitively. */
export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  const m = /^sha1=([0-9a-f]{40})$/i.exec(header?.trim() ?? "");
  if (!m) return false;
  const expected = createHmac("sha1", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, "hex"));
}

export async function startWebhook(o: WebhookOptions): Promise<WebhookServer> {
  const path = o.path ?? "/";
  const maxBody = o.max_body ?? DEFAULT_MAX_EVENT_BYTES;
  const log = o.log;
  const warn = new RepeatedWarning(log);
  const listener = await startListener({
    listen: o.listen,
    name: "onebot11 webhook",
    log,
    requestTimeoutMs: o.requestTimeoutMs ?? 10_000,
    maxConnections: 64,
    handle: async (req, res, url) => {
      if (url.pathname !== path) return reply(res, 404, "not found");
      if (req.method !== "POST") return reply(res, 405, "POST only", { allow: "POST" });
      const body = await readBody(req, maxBody);
      if (body === null) {
        warn.warn("too-large", { limit: maxBody }, "onebot11 webhook: event body too large; refused (webhook.max_body)");
        return reply(res, 413, "too large", { connection: "close" });
      }
      if (o.secret !== undefined) {
        const sig = req.headers["x-signature"];
        if (typeof sig !== "string") {
          warn.warn("unsigned", {}, "onebot11 webhook: event without X-Signature refused (a secret is configured)");
          return reply(res, 401, "signature required");
        }
        if (!verifySignature(o.secret, body, sig)) {
          warn.warn("bad-signature", {}, "onebot11 webhook: event with a wrong X-Signature refused (check webhook.secret; NapCat signs with its token)");
          return reply(res, 403, "bad signature");
        }
      }
      let event: unknown;
      try {
        event = JSON.parse(body.toString("utf8"));
      } catch {
        warn.warn("malformed", { body: snippet(body.toString("utf8")) }, "onebot11 webhook: malformed event refused");
        return reply(res, 400, "malformed JSON");
      }
      o.onEvent?.();
      try {
        await o.inbound.handle(event);
      } catch {
        // Stopping before the sink took it: not acknowledged, so the reporter sends it again.
        return reply(res, 503, "stopping");
      }
      reply(res, 204);
    },
  });
  const url = `${listener.url}${path}`;
  log.info({ url }, "onebot11 webhook: listening");
  return { url, close: () => listener.close() };
}
