// Events over the webhook (protocols.md §6.6), on the bridge's one bounded HTTP listener: every
// request's Ed25519 signature is checked (op 13 included), a bad one gets 401 and a log line
// without the body; op 13 is answered with the signed plain_token; an event is acknowledged
// (HTTP 200, op 12) only once its handler (the sink) resolved, so the platform redelivers what we
// could not store; redeliveries (same event id) are recognised and acknowledged at once.
import type { Logger } from "pino";
import { readBody, reply, startListener, type Listener } from "../../http/listener.ts";
import { RepeatedWarning } from "../shared/repeated-warning.ts";
import { signHex, verifySignature, type WebhookKeys } from "./sign.ts";

/** Event bodies are small; anything bigger is not the platform. */
const MAX_BODY = 1 << 20;
/** Event ids remembered for redelivery (the platform redelivers within minutes). */
const MAX_SEEN = 10_000;

export interface WebhookOptions {
  listen: string;
  path: string;
  keys: WebhookKeys;
  log: Logger;
  /** Handles one event; resolves once it is durable. */
  handle: (t: string, d: unknown, id: string | undefined) => Promise<void>;
}

export function startWebhook(o: WebhookOptions): Promise<Listener> {
  const warn = new RepeatedWarning(o.log);
  const done = new Map<string, true>();
  const inFlight = new Map<string, Promise<void>>();

  const remember = (id: string): void => {
    done.set(id, true);
    if (done.size > MAX_SEEN) done.delete(done.keys().next().value!);
  };

  const json = (res: Parameters<typeof reply>[0], status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }).end(text);
  };

  return startListener({
    listen: o.listen,
    name: "qqbot webhook",
    log: o.log,
    handle: async (req, res, url) => {
      if (url.pathname !== o.path) return reply(res, 404, "not found");
      if (req.method !== "POST") return reply(res, 405, "method not allowed", { allow: "POST" });
      const body = await readBody(req, MAX_BODY);
      if (body === null) return reply(res, 413, "too large", { connection: "close" });
      const sig = req.headers["x-signature-ed25519"];
      const ts = req.headers["x-signature-timestamp"];
      if (!verifySignature(o.keys, typeof sig === "string" ? sig : undefined, typeof ts === "string" ? ts : undefined, body)) {
        // Neither the body nor the signature is logged: only that it happened and from where.
        warn.warn("bad-signature", { from: req.socket.remoteAddress, bytes: body.length }, "qqbot webhook: a request with a missing or bad Ed25519 signature was refused (401)");
        return reply(res, 401, "bad signature");
      }
      let p: { op?: unknown; d?: unknown; t?: unknown; id?: unknown };
      try {
        p = JSON.parse(body.toString("utf8")) as typeof p;
        if (typeof p !== "object" || p === null) throw new Error("not an object");
      } catch {
        warn.warn("bad-json", { bytes: body.length }, "qqbot webhook: a signed body that is not a JSON payload was refused (400)");
        return reply(res, 400, "bad payload");
      }
      if (p.op === 13) {
        const d = (p.d ?? {}) as { plain_token?: unknown; event_ts?: unknown };
        if (typeof d.plain_token !== "string" || typeof d.event_ts !== "string") return reply(res, 400, "bad validation payload");
        o.log.info("qqbot webhook: answering the callback URL validation (op 13)");
        return json(res, 200, { plain_token: d.plain_token, signature: signHex(o.keys, d.event_ts + d.plain_token) });
      }
      if (p.op !== 0 || typeof p.t !== "string") {
        o.log.debug({ op: p.op }, "qqbot webhook: payload without an event acknowledged");
        return json(res, 200, { op: 12, d: 0 });
      }
      const id = typeof p.id === "string" ? p.id : undefined;
      if (id !== undefined && done.has(id)) {
        o.log.debug({ id }, "qqbot webhook: redelivered event acknowledged again");
        return json(res, 200, { op: 12, d: 0 });
      }
      let work = id === undefined ? undefined : inFlight.get(id);
      if (!work) {
        work = o.handle(p.t, p.d, id);
        if (id !== undefined) {
          inFlight.set(id, work);
          void work.then(() => remember(id), () => undefined).finally(() => inFlight.delete(id));
        }
      }
      try {
        await work;
      } catch (err) {
        // Not stored: "d 为 1" and a 5xx, so the platform delivers it again.
        o.log.warn({ id, err: (err as Error).message }, "qqbot webhook: event not stored; asking for a redelivery");
        return json(res, 500, { op: 12, d: 1 });
      }
      return json(res, 200, { op: 12, d: 0 });
    },
  });
}
