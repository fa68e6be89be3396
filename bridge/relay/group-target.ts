// A group of one network as a relay target. The network's success answer is the confirmation.
// Policy for sends whose outcome is unknown (SendError "unknown", an error that is not a
// SendError, or a send interrupted by a crash): the item is dead-lettered as "unknown" and never
// resent, because a network offers no way to check what it delivered; a duplicate is never sent
// blindly. Operators see these items in the logs and in pollbridge_messages_failed_total.
import { SendError, type NetworkAdapter } from "../network.ts";
import type { OutboxItem } from "../store/outbox.ts";
import { errorText, groupTargetKey, type ResendVerdict, type SendOutcome, type Target } from "./target.ts";

export class GroupTarget implements Target {
  readonly key: string;
  readonly maxLength: number;
  readonly group: string;
  readonly network: NetworkAdapter;
  readonly #listeners: (() => void)[] = [];

  constructor(network: NetworkAdapter, group: string) {
    this.network = network;
    this.group = group;
    this.key = groupTargetKey(network.id, group);
    this.maxLength = network.maxMessageLength;
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

  resendVerdict(): ResendVerdict {
    return "unknown";
  }

  async send(item: OutboxItem): Promise<SendOutcome> {
    try {
      const res = await this.network.send(this.group, item.text);
      return { kind: "delivered", resultId: res.id };
    } catch (err) {
      if (!(err instanceof SendError)) return { kind: "unknown", error: `unexpected send error: ${errorText(err)}` };
      if (err.kind === "retry") return { kind: "retry", error: err.message, afterMs: err.retryAfterMs };
      return { kind: err.kind, error: err.message };
    }
  }

  describe(): { ok: boolean; state: string; detail?: string } {
    return this.network.status();
  }
}
