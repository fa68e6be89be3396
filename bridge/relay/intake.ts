// Inbound messages from either side enter the outbox here: one COMMIT holds the message's items
// for every target the router gives it (and, for a room message, the room's last-seen time),
// keyed by the message's source key so that a redelivery is ignored. Then the targets' workers
// are woken.
import type { Logger } from "pino";
import type { Outbox } from "../store/outbox.ts";
import type { Rich } from "./rich-items.ts";
import type { Router, Said, Source } from "./router.ts";

export interface IntakeDeps {
  router: Router;
  outbox: Outbox;
  logger: Logger;
}

export class Intake {
  readonly #d: IntakeDeps;

  constructor(deps: IntakeDeps) {
    this.#d = deps;
  }

  /**
   * Commits one inbound message for every other endpoint of every route that contains its source.
   * `key` identifies the message across redeliveries; `roomSeen` moves the room's catch-up bound;
   * `rich` says what it is besides its text, and holds its ids for the id map (same COMMIT).
   */
  accept(key: string, from: Source, said: Said, roomSeen?: { room: string; time: Date }, rich?: Rich): void {
    const { router, outbox, logger } = this.#d;
    const items = router.fanOut(from, said, rich);
    if (items.length === 0 && !roomSeen) {
      logger.debug({ network: said.network, group: said.group }, "message from an unbridged group ignored");
      return;
    }
    const accepted = outbox.accept({ sourceKey: key, items, roomSeen, ids: rich?.ids });
    if (accepted === null) {
      logger.debug({ source: key }, "redelivered message ignored");
      return;
    }
    router.notify(new Set(accepted.map((i) => i.target)));
  }
}
