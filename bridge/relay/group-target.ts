// A group of one network as a relay target. The network's success answer is the confirmation.
// A send that may have been delivered (SendError "unknown", an error that is not a SendError, or
// a send interrupted by a crash) keeps its attempt mark and is settled by the evidence the
// network offers (NetworkAdapter.evidence), in this order:
//   - echo: our own message comes back through the sink (the relay confirms the item there);
//     it is waited for up to `echoWindowMs`, or, when the server was done with the send when it
//     failed (SendError.serverDone) and the network tells how far its echoes are complete
//     (echoesThrough), until that point passes the failure by ECHO_FENCE_GAP_MS;
//   - history: findSent() looks the send up: found = delivered, null = not delivered (send
//     again), a throw = cannot tell now (asked again after a backoff);
//   - neither (or the echo never came and there is no history): sent again, at least once,
//     counted in pollbridge_sends_resent_unconfirmed_total.
// An edit or a retraction sent natively is idempotent (the same text again, a message already
// gone): one in doubt is simply sent again. Which form an item takes (a native reply, edit or
// retraction, or its plain form) is decided when it is sent (rich-send.ts).
import { SendError, type NetworkAdapter, type SendResult } from "../network.ts";
import type { Outbox, OutboxItem } from "../store/outbox.ts";
import { planGroup, plainForm, type GroupPlan } from "./rich-send.ts";
import { errorText, groupTargetKey, type SendOutcome, type Target, type Verdict } from "./target.ts";

/**
 * How long after a failed send the network must have handed over every own echo before its
 * absence says "not delivered": the echo of a delivered send exists by the time the server
 * answers or closes, and this covers an implementation that makes it a moment later.
 */
export const ECHO_FENCE_GAP_MS = 1000;
/** While a fence may settle the item, how often the echo wait looks again. */
const FENCE_LOOK_MS = 200;

export interface EvidenceOptions {
  /** How long an unconfirmed send waits for its own echo; default 15000 ms. */
  echoWindowMs?: number;
  /** How far before the attempt a history lookup starts (clock differences); default 5000 ms. */
  historySlackMs?: number;
  /**
   * A send the network has not answered after this long is taken as maybe delivered, so that a
   * network that never gives up cannot hold its queue for ever; default 120000 ms. Networks time
   * their sends out far sooner; this is the relay's last resort.
   */
  sendTimeoutMs?: number;
  /** The outbox: an item is read again when it is sent, and its references resolved through the id map. */
  outbox?: Outbox;
}

export class GroupTarget implements Target {
  readonly key: string;
  readonly maxLength: number;
  readonly group: string;
  readonly network: NetworkAdapter;
  readonly #listeners: (() => void)[] = [];
  readonly #echoWindowMs: number;
  readonly #historySlackMs: number;
  readonly #sendTimeoutMs: number;
  readonly #outbox: Outbox | undefined;
  /** The unconfirmed item (a worker has at most one) and when this process stops waiting for its echo (monotonic ms). */
  #echoWait: { id: number; deadline: number } | undefined;
  /** The unconfirmed item whose server was done with it when its send failed, and when (monotonic ms). */
  #serverDone: { id: number; at: number } | undefined;

  constructor(network: NetworkAdapter, group: string, opts: EvidenceOptions = {}) {
    this.network = network;
    this.group = group;
    this.key = groupTargetKey(network.id, group);
    this.maxLength = network.maxMessageLength;
    this.#echoWindowMs = opts.echoWindowMs ?? 15_000;
    this.#historySlackMs = opts.historySlackMs ?? 5000;
    this.#sendTimeoutMs = opts.sendTimeoutMs ?? 120_000;
    this.#outbox = opts.outbox;
  }

  /** Fed by the relay from the network's status changes. */
  changed(): void {
    for (const l of this.#listeners) l();
  }

  /** Logged in; a network that cannot report status changes is assumed ready (sends then say). */
  ready(): boolean {
    return (this.network.onStatus ? this.network.status().ok : true) && (this.network.ready?.(this.group) ?? true);
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  async check(item: OutboxItem): Promise<Verdict> {
    if (item.kind !== "message") return { kind: "send" }; // idempotent (see above)
    const { echo, history } = this.network.evidence;
    if (echo) {
      // The window starts when this process first looks: after a crash, the echo of a send made
      // by the dead process comes with the network's redelivery after this start.
      const now = performance.now();
      if (this.#echoWait?.id !== item.id) this.#echoWait = { id: item.id, deadline: now + this.#echoWindowMs };
      const left = this.#echoWait.deadline - now;
      const fence = this.#serverDone?.id === item.id && this.network.echoesThrough ? this.#serverDone.at + ECHO_FENCE_GAP_MS : undefined;
      const fenced = fence !== undefined && (this.network.echoesThrough!() ?? -Infinity) >= fence;
      if (left > 0 && !fenced) return { kind: "wait", ms: fence === undefined ? left : Math.min(left, FENCE_LOOK_MS) };
      // Every echo up to past the failure came, and not this one: not delivered (history, when
      // there is one, still has the last word: it is cheap and definite).
      if (fenced && !history) return { kind: "send" };
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

  send(queued: OutboxItem): Promise<SendOutcome> {
    this.#echoWait = undefined; // a new send: its echo gets a window of its own
    this.#serverDone = undefined;
    return this.#send(queued).then((outcome) => {
      if (outcome.kind === "unconfirmed" && outcome.serverDone) this.#serverDone = { id: queued.id, at: performance.now() };
      return outcome;
    });
  }

  #send(queued: OutboxItem): Promise<SendOutcome> {
    // Read again after the worker's attempt mark: an edit may have changed the text of the unsent item.
    const item = this.#outbox?.get(queued.id) ?? queued;
    const plan: GroupPlan = this.#outbox ? planGroup(item, this.network.features ?? {}, this.key, this.#outbox.ids) : { op: "send", text: item.text };
    if (plan.op === "none") return Promise.resolve({ kind: "delivered" });
    if (plan.op === "send" && plan.resolved) this.#outbox?.resolve(item.id, { kind: "message", text: plan.text });
    const sending = this.#call(plan);
    // A plain message goes out as it always did (no extra step); a native form the network
    // refuses for good (a reply to a deleted message, an edit too old, a URL it cannot fetch)
    // is sent in its plain form next instead of becoming a dead letter.
    const plain = plan.op === "retract" || (plan.op === "send" && (plan.resolved || !plan.opts)) ? undefined : plainForm(item);
    if (plain === undefined || plain === "") return sending;
    return sending.then((outcome) => {
      if (outcome.kind !== "fatal") return outcome;
      this.#outbox?.resolve(item.id, { kind: "message", text: plain });
      return { kind: "retry", error: `${outcome.error}; sending it as plain text`, afterMs: 0 };
    });
  }

  async #call(plan: Exclude<GroupPlan, { op: "none" }>): Promise<SendOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const net = this.network;
    const missing = (what: string) => Promise.reject(new SendError(`${net.id} says it has ${what} but no ${what}()`, "fatal"));
    const sending: Promise<SendResult | void> =
      plan.op === "edit" ? (net.edit ? net.edit(this.group, plan.id, plan.text) : missing("edit"))
      : plan.op === "retract" ? (net.retract ? net.retract(this.group, plan.id) : missing("retract"))
      : plan.opts ? net.send(this.group, plan.text, plan.opts) : net.send(this.group, plan.text);
    const unanswered = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SendError(`no answer from the network within ${this.#sendTimeoutMs} ms`, "unknown")), this.#sendTimeoutMs);
    });
    sending.catch(() => undefined); // an answer after the timeout changes nothing: the item is settled by evidence
    try {
      const res = await Promise.race([sending, unanswered]);
      return { kind: "delivered", resultId: res ? res.id : undefined };
    } catch (err) {
      if (!(err instanceof SendError)) return { kind: "unconfirmed", error: `unexpected send error: ${errorText(err)}` };
      if (err.kind === "retry") return { kind: "retry", error: err.message, afterMs: err.retryAfterMs };
      if (err.kind === "fatal") return { kind: "fatal", error: err.message };
      return { kind: "unconfirmed", error: err.message, ...(err.serverDone ? { serverDone: true } : {}) };
    } finally {
      clearTimeout(timer);
    }
  }

  describe(): { ok: boolean; state: string; detail?: string } {
    return this.network.status();
  }
}
