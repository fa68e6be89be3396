// The HTTP POST reporter of OneBot 11 (protocols.md §2.2): every event POSTed to the client's
// URL, signed with HMAC-SHA1 when a secret is set, retried on failure as go-cqhttp does.
import { createHmac } from "node:crypto";
import type { SimState } from "./state.ts";

export interface WebhookOptions {
  url: string;
  /** HMAC key. NapCat signs with the access token instead (pass it here). */
  secret?: string;
  /** go-cqhttp and NapCat: lowercase hex; Lagrange.OneBot: UPPER-case (Convert.ToHexString). */
  hexCase?: "lower" | "upper";
  /** go-cqhttp max-retries (default 3) after the first attempt. */
  retries?: number;
  /** Pause between attempts (go-cqhttp retries-interval: 1500 ms); default 10 ms here. */
  retryIntervalMs?: number;
  /** go-cqhttp's post timeout (values below 5 s raised to 5 s); default 5000 ms. */
  timeoutMs?: number;
}

export interface WebhookPost {
  event: Record<string, unknown>;
  /** HTTP status of each attempt, or the error code ("timeout", "ECONNREFUSED"...). */
  attempts: (number | string)[];
  accepted: boolean;
}

export function signature(secret: string, body: string, hexCase: "lower" | "upper" = "lower"): string {
  const hex = createHmac("sha1", secret).update(body).digest("hex");
  return `sha1=${hexCase === "upper" ? hex.toUpperCase() : hex}`;
}

/** Posts events one after another, in order; each is retried until accepted or out of retries. */
export class WebhookPoster {
  readonly posts: WebhookPost[] = [];
  private tail: Promise<void> = Promise.resolve();
  private readonly o: WebhookOptions;
  private readonly state: SimState;
  private readonly stop = new AbortController();

  constructor(state: SimState, o: WebhookOptions) {
    this.state = state;
    this.o = o;
  }

  post(event: Record<string, unknown>): void {
    this.tail = this.tail.then(() => this.deliver(event));
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.tail;
  }

  private async deliver(event: Record<string, unknown>): Promise<void> {
    const record: WebhookPost = { event, attempts: [], accepted: false };
    this.posts.push(record);
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "CQHttp/4.15.0", "x-self-id": String(this.state.selfId) };
    if (this.o.secret !== undefined) headers["x-signature"] = signature(this.o.secret, body, this.o.hexCase);
    const retries = this.o.retries ?? 3;
    for (let attempt = 0; attempt <= retries && !this.stop.signal.aborted; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.o.retryIntervalMs ?? 10));
      this.state.counters.webhookPosts++;
      this.state.emit("webhook-attempt");
      try {
        const res = await fetch(this.o.url, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.o.timeoutMs ?? 5000)]),
        });
        const answer = await res.text();
        record.attempts.push(res.status);
        if (res.status >= 200 && res.status < 300) {
          // go-cqhttp reads a JSON body as a quick operation (it would reply in the group).
          if (answer.trim() !== "") this.state.violation(`webhook answered a body (a quick operation to go-cqhttp): ${answer.slice(0, 60)}`);
          record.accepted = true;
          break;
        }
      } catch (err) {
        const e = err as { name?: string; cause?: { code?: string } };
        record.attempts.push(e.name === "TimeoutError" ? "timeout" : (e.cause?.code ?? e.name ?? "error"));
      }
    }
    this.state.emit("webhook-post", record);
  }
}
