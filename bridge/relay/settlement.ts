// What happens when an outbox item settles, whoever settled it: its worker (a send's outcome, a
// history lookup) or evidence that arrived on its own (a room's reflection of our origin-id, a
// network's echo of our own send).
//
// Confirmation is one path (confirm) for both sides: the reflection or echo is committed before
// the message that carried it is acknowledged, then the item's worker moves on. Every settle is
// counted; a dead letter is logged, counted and, with relay.dead_letter_notice, announced in the
// bridge's room through the outbox like any message.
import type { Logger } from "pino";
import type { Confirmation, Outbox, OutboxItem } from "../store/outbox.ts";
import type { RelayMetrics } from "./metrics.ts";
import type { Router } from "./router.ts";
import { splitText } from "./split.ts";
import type { SettleKind } from "./target-worker.ts";

/** The one confirmation path as the inbound sides use it: true when it confirmed an item. */
export type Confirm = (c: Confirmation) => boolean;

export interface SettlementDeps {
  router: Router;
  outbox: Outbox;
  logger: Logger;
  metrics?: RelayMetrics;
  deadLetterNotice?: boolean;
  /** After the settle was counted (the relay emits "settled", the supervisor looks at the drain). */
  onSettled(item: OutboxItem, kind: SettleKind): void;
}

export class Settlement {
  readonly #d: SettlementDeps;
  /** "network\nerror" of retractions refused for good, already logged: a bot without the right would say so for every message. */
  readonly #refusedRetractions = new Set<string>();

  constructor(deps: SettlementDeps) {
    this.#d = deps;
  }

  /** The one confirmation path: commits it, then tells the item's worker to move on. */
  confirm(c: Confirmation, how: "reflection" | "echo"): OutboxItem | undefined {
    const item = this.#d.outbox.confirm(c);
    if (!item) return undefined;
    this.#d.logger.debug({ target: item.target, item: item.id, originId: item.originId, how }, "confirmed a send");
    this.settled(item, "delivered", { changed: true });
    this.#d.router.notify([item.target]);
    return item;
  }

  /** `changed` is false when the item was settled before (a late echo, a second worker pass). */
  settled(item: OutboxItem, kind: SettleKind, info: { changed: boolean; error?: string }): void {
    const m = this.#d.metrics;
    if (info.changed && kind === "delivered") m?.relayed(item.bridge, item.target);
    if (kind === "resent-unconfirmed") m?.resentUnconfirmed(this.#d.router.groups.get(item.target)?.network.id ?? item.target);
    if (info.changed && kind === "dead-letter" && item.kind === "retract") {
      m?.failed(item.bridge, item.target);
      const network = this.#d.router.groups.get(item.target)?.network.id ?? item.target;
      const once = `${network}\n${info.error ?? ""}`;
      if (!this.#refusedRetractions.has(once)) {
        this.#refusedRetractions.add(once);
        this.#d.logger.error({ network, target: item.target, item: item.id, error: info.error }, "a retraction was refused for good (the bot may lack the right); further ones refused for the same reason are not logged");
      }
    } else if (info.changed && kind === "dead-letter") {
      m?.failed(item.bridge, item.target);
      this.#d.logger.error({ target: item.target, item: item.id, sender: item.sender, error: info.error }, "dead letter: the message could not be delivered; kept in the outbox as failed");
      if (this.#d.deadLetterNotice) this.#announce(item, info.error ?? "unknown error");
    }
    this.#d.onSettled(item, kind);
  }

  /** relay.dead_letter_notice: tells the bridge's room, through the outbox like any message. */
  #announce(item: OutboxItem, reason: string): void {
    const room = this.#d.router.rooms.get(item.bridge);
    if (!room || item.target === room.key) return; // the room itself is what failed
    const where = item.target.startsWith("net:") ? item.target.slice(4) : item.target;
    const who = item.sender ? `${item.sender}'s message` : "a message";
    const text = `could not deliver ${who} to ${where}: ${reason}`;
    const items = splitText(text, room.maxLength).map((part) => ({ bridge: room.room, target: room.key, text: part }));
    const accepted = this.#d.outbox.accept({ sourceKey: `dead-letter:${item.originId}`, items });
    if (accepted?.length) this.#d.router.notify([room.key]);
  }
}
