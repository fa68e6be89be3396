// The platform's side of webhook mode (protocols.md §6.6): the op 13 validation, then every event
// POSTed to the bot's URL signed with Ed25519 (key seeded by the secret), redelivered up to three
// times with the same id while the bot does not answer 200. Written apart from the bridge's code
// on purpose: a simulator that shares the client's signing code proves nothing.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { QqbotSimState, SimEvent } from "./state.ts";

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** Redeliveries after the first attempt (AstrBot#6320: "up to 3 times ... identical top-level id"). */
const REDELIVERIES = 3;

export function signingKey(secret: string): KeyObject {
  let seed = Buffer.from(secret, "utf8");
  while (seed.length < 32) seed = Buffer.concat([seed, Buffer.from(secret, "utf8")]);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed.subarray(0, 32)]), format: "der", type: "pkcs8" });
}

export function signHex(secret: string, message: string | Buffer): string {
  return sign(null, typeof message === "string" ? Buffer.from(message) : message, signingKey(secret)).toString("hex");
}

export interface WebhookDelivery {
  id: string;
  attempts: number;
  /** The last answer: its status and body ("" on a transport failure). */
  status: number;
  body: string;
  acked: boolean;
}

export interface SimWebhook {
  /** The bot's callback URL ("" : none). */
  url: string;
  readonly deliveries: Map<string, WebhookDelivery>;
  /** Posts the op 13 challenge; resolves with whether the answer's signature verifies. */
  validate(): Promise<{ ok: boolean; status: number; answer: unknown }>;
  /** Resolves when the event with this id was answered 200 (or gave up). */
  waitDelivered(id: string, signal?: AbortSignal): Promise<WebhookDelivery>;
  close(): void;
}

export function startWebhookPusher(state: QqbotSimState, o: { intents: number; timeoutMs?: number }): SimWebhook {
  const queue: SimEvent[] = [];
  const deliveries = new Map<string, WebhookDelivery>();
  let running = false;
  let closed = false;
  const ac = new AbortController();

  const post = async (url: string, body: string): Promise<{ status: number; text: string }> => {
    const ts = String(Math.floor(state.now() / 1000));
    state.counters.webhookPosts++;
    const res = await fetch(url, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        "user-agent": "QQBot-Callback",
        "x-bot-appid": state.appId,
        "x-signature-timestamp": ts,
        "x-signature-ed25519": signHex(state.secret, ts + body),
      },
      signal: AbortSignal.any([ac.signal, AbortSignal.timeout(o.timeoutMs ?? 5_000)]),
    });
    return { status: res.status, text: await res.text() };
  };

  const pump = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0 && !closed) {
        const ev = queue.shift()!;
        const d: WebhookDelivery = { id: ev.id, attempts: 0, status: 0, body: "", acked: false };
        deliveries.set(ev.id, d);
        const body = JSON.stringify({ op: 0, id: ev.id, d: ev.d, t: ev.t });
        for (let i = 0; i <= REDELIVERIES && !closed; i++) {
          d.attempts++;
          try {
            const r = await post(hook.url, body);
            d.status = r.status;
            d.body = r.text;
          } catch {
            d.status = 0;
            d.body = "";
          }
          state.emit("webhook-attempt", d);
          if (d.status === 200) {
            d.acked = true;
            break;
          }
        }
        state.emit("webhook-delivered", d);
      }
    } finally {
      running = false;
    }
  };

  state.carriers.push((ev) => {
    if (hook.url === "" || (ev.intent & o.intents) === 0) return false;
    queue.push(ev);
    void pump();
    return true;
  });

  const hook: SimWebhook = {
    url: "",
    deliveries,
    async validate() {
      const plain = `plain-${Math.random().toString(36).slice(2)}`;
      const eventTs = String(Math.floor(state.now() / 1000));
      const r = await post(hook.url, JSON.stringify({ d: { plain_token: plain, event_ts: eventTs }, op: 13 }));
      let answer: unknown;
      try {
        answer = JSON.parse(r.text);
      } catch {
        return { ok: false, status: r.status, answer: r.text };
      }
      const a = answer as { plain_token?: unknown; signature?: unknown };
      const pub = createPublicKey(signingKey(state.secret));
      const ok =
        r.status === 200 &&
        a.plain_token === plain &&
        typeof a.signature === "string" &&
        /^[0-9a-f]{128}$/i.test(a.signature) &&
        verify(null, Buffer.from(eventTs + plain), pub, Buffer.from(a.signature, "hex"));
      return { ok, status: r.status, answer };
    },
    waitDelivered(id, signal) {
      return state.waitFor(() => {
        const d = deliveries.get(id);
        return d && (d.acked || d.attempts > REDELIVERIES) ? d : undefined;
      }, ["webhook-delivered", "webhook-attempt"], signal);
    },
    close() {
      closed = true;
      ac.abort();
    },
  };
  return hook;
}
