// A group of one network as a relay target. The network's success answer is the confirmation.
// A send that may have been delivered (SendError "unknown", an error that is not a SendError, or
// a send interrupted by a crash) keeps its attempt mark and is settled by the evidence the
// network offers (NetworkAdapter.evidence), in this order:
//   - echo: our own message comes back through the sink (the relay confirms the item there);
//     it is waited for up to `echoWindowMs`;
//   - history: findSent() looks the send up: found = delivered, null = not delivered (send
//     again), a throw = cannot tell now (asked again after a backoff);
//   - neither (or the echo never came and there is no history): sent again, at least once,
//     counted in pollbridge_sends_resent_unconfirmed_total.
import { SendError, type NetworkAdapter } from "../network.ts";
import type { OutboxItem } from "../store/outbox.ts";
import { errorText, groupTargetKey, type SendOutcome, type Target, type Verdict } from "./target.ts";

export interface EvidenceOptions {
  /** How long an unconfirmed send waits for its own echo; default 15000 ms. */
  echoWindowMs?: number;
  /** How far before the attempt a history lookup starts (clock differences); default 5000 ms. */
  historySlackMs?: number;
}

export class GroupTarget implements Target {
  readonly key: string;
  readonly maxLength: number;
  readonly group: string;
  readonly network: NetworkAdapter;
  readonly #listeners: (() => void)[] = [];
  readonly #echoWindowMs: number;
  readonly #historySlackMs: number;
  /** The unconfirmed item (a worker has at most one) and when this process stops waiting for its echo (monotonic ms). */
  #echoWait: { id: number; deadline: number } | undefined;

  constructor(network: NetworkAdapter, group: string, opts: EvidenceOptions = {}) {
    this.network = network;
    this.group = group;
    this.key = groupTargetKey(network.id, group);
    this.maxLength = network.maxMessageLength;
    this.#echoWindowMs = opts.echoWindowMs ?? 15_000;
    this.#historySlackMs = opts.historySlackMs ?? 5000;
  }

  /** Fed by the relay from the network's status changes. */
  changed(): void {
    for (const l of this.#listeners) l();
  }

  /** Logged in; a network that cannot report status changes is assumed ready (sends then say). */
  ready(): boolean {
    return this.network.onStatus ? this.network.status().ok : true;
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  async check(item: OutboxItem): Promise<Verdict> {
    const { echo, history } = this.network.evidence;
    if (echo) {
      // The window starts when this process first looks: after a crash, the echo of a send made
      // by the dead process comes with the network's redelivery after this start.
      const now = performance.now();
      if (this.#echoWait?.id !== item.id) this.#echoWait = { id: item.id, deadline: now + this.#echoWindowMs };
      if (now < this.#echoWait.deadline) return { kind: "wait", ms: this.#echoWait.deadline - now };
    }
    if (history && this.network.findSent) {
      const since = new Date((item.attemptedAt ?? item.createdAt) - this.#historySlackMs);
      try {
        const found = await this.network.findSent(this.group, item.text, since);
        return found ? { kind: "delivered", resultId: found.id || undefined } : { kind: "send" };
      } catch (err) {
        return { kind: "check-failed", error: `history lookup failed: ${errorText(err)}` };
      }
    }
    return { kind: "resend-unconfirmed", reason: echo ? "no echo of the send came back" : "the network cannot tell whether it was delivered" };
  }

  async send(item: OutboxItem): Promise<SendOutcome> {
    this.#echoWait = undefined; // a new send: its echo gets a window of its own
    try {
      const res = await this.network.send(this.group, item.text);
      return { kind: "delivered", resultId: res.id };
    } catch (err) {
      if (!(err instanceof SendError)) return { kind: "unconfirmed", error: `unexpected send error: ${errorText(err)}` };
      if (err.kind === "retry") return { kind: "retry", error: err.message, afterMs: err.retryAfterMs };
      if (err.kind === "fatal") return { kind: "fatal", error: err.message };
      return { kind: "unconfirmed", error: err.message };
    }
  }

  describe(): { ok: boolean; state: string; detail?: string } {
    return this.network.status();
  }
}
