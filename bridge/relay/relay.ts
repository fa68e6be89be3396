// The relay: every `bridges` entry links one XMPP room with one or more network groups, and a
// message from any of them goes to all the others. Inbound messages are committed to the outbox
// first (the network's sink resolves only after the COMMIT); per-target workers deliver them.
//
// This class only composes the parts, one concern a file:
//   router.ts          the routes, targets and workers built from `bridges`; source -> target lines
//   network-inbound.ts a network's sink: own echoes confirm sends, other messages enter the outbox
//   room-inbound.ts    the rooms' messages: reflections confirm sends, other messages enter the outbox
//   intake.ts          one COMMIT per inbound message, for all its targets; wakes their workers
//   room-session.ts    a room's join, catch-up bounds, reflection confirmation, rejoin (RoomTarget's)
//   room-target.ts, group-target.ts, target-worker.ts   sending to one target, one item at a time
//   settlement.ts      what a settled item does: the one confirmation path, counters, dead letters
//   supervisor.ts      start, stop and drain, health, the gauges read at scrape time
// README's "How it is built" follows a message through them in both directions.
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/types.ts";
import type { MessageSink, NetworkAdapter } from "../network.ts";
import type { Outbox, OutboxItem } from "../store/outbox.ts";
import { Intake } from "./intake.ts";
import type { RelayMetrics } from "./metrics.ts";
import { networkSink } from "./network-inbound.ts";
import { RoomInbound } from "./room-inbound.ts";
import type { RoomLink } from "./room-link.ts";
import { Router } from "./router.ts";
import { Settlement, type Confirm } from "./settlement.ts";
import { Supervisor, type RelayHealth } from "./supervisor.ts";
import type { Backoff, SettleKind } from "./target-worker.ts";

export type { RelayHealth } from "./supervisor.ts";

export interface RelayOptions {
  bridges: readonly BridgeConfig[];
  outbox: Outbox;
  room: RoomLink;
  networks: ReadonlyMap<string, NetworkAdapter>;
  logger: Logger;
  metrics?: RelayMetrics;
  /** Per target; default 2 per second, burst 5. */
  rate?: { per_second: number; burst: number };
  /** Longest body sent to a room; default 10000. */
  xmppMaxLength?: number;
  /** Retry backoff for failed sends; default 1 s doubling up to 60 s. */
  backoff?: Backoff;
  /** How long a room send waits for its reflection (passed to RoomLink.send). */
  sendTimeout?: number;
  /** Overlap when asking a room for history, covering clock differences; default 5000 ms. */
  catchUpSlackMs?: number;
  /** A network message relayed later than this after its time is marked with its time; default 120000 ms. */
  lateAfterMs?: number;
  /** A group send unanswered this long is taken as maybe delivered (GroupTarget); default 120000 ms. */
  groupSendTimeoutMs?: number;
  /** How long an unconfirmed send to a network with echo evidence waits for its echo; default 15000 ms. */
  echoWindowMs?: number;
  /** relay.dead_letter_after: an item still failing this long after its first failure is a dead letter; default 86400000 ms. */
  deadLetterAfterMs?: number;
  /** relay.dead_letter_notice: announce each dead letter in the bridge's room; default false. */
  deadLetterNotice?: boolean;
  /** relay.media_max_bytes: the largest picture or file fetched from a network and uploaded to a room; default 10 MB. */
  mediaMaxBytes?: number;
  /** Wall clock (ms epoch); tests inject one to age items without waiting. */
  now?: () => number;
}

export interface RelayEvents {
  /** An item's send had an outcome, or evidence (reflection, echo, history) settled it. */
  settled: [OutboxItem, SettleKind];
}

export class Relay extends EventEmitter<RelayEvents> {
  readonly #supervisor: Supervisor;
  readonly #sinkFor: (networkId: string) => MessageSink;

  constructor(opts: RelayOptions) {
    super();
    const logger = opts.logger.child({ component: "relay" });
    const { outbox, metrics } = opts;
    // Evidence confirms an item through the settlement, which needs the router: the closures
    // are called only once the relay runs.
    const reflection: Confirm = (c) => settlement.confirm(c, "reflection") !== undefined;
    const echo: Confirm = (c) => settlement.confirm(c, "echo") !== undefined;
    const router: Router = new Router(opts, logger, {
      confirm: reflection,
      onSettled: (item, kind, info) => settlement.settled(item, kind, info),
    });
    const settlement: Settlement = new Settlement({
      router,
      outbox,
      logger,
      metrics,
      deadLetterNotice: opts.deadLetterNotice,
      onSettled: (item, kind) => {
        this.#supervisor.settled();
        this.emit("settled", item, kind);
      },
    });
    const intake = new Intake({ router, outbox, logger });
    const inbound = { outbox, intake, logger, confirm: echo, lateAfterMs: opts.lateAfterMs ?? 120_000 };
    this.#sinkFor = (networkId) => networkSink(networkId, inbound);
    const roomInbound = new RoomInbound({ router, outbox, intake, logger, confirm: reflection });
    this.#supervisor = new Supervisor({ router, outbox, roomInbound, sinkFor: this.#sinkFor, logger, metrics });
  }

  /** Subscribes to the room link, joins the rooms, starts the workers and the networks. */
  start(): Promise<void> {
    return this.#supervisor.start();
  }

  /** Stops taking room messages in, drains the outbox for up to `drainMs`, then stops workers and networks. */
  stop(drainMs: number): Promise<{ drained: boolean; depth: number }> {
    return this.#supervisor.stop(drainMs);
  }

  /** A reload: new bridges, formats, rate limits or network adapters, applied while running (Supervisor.update). */
  update(next: { bridges: readonly BridgeConfig[]; networks: ReadonlyMap<string, NetworkAdapter>; rate?: { per_second: number; burst: number } }): Promise<void> {
    return this.#supervisor.update(next);
  }

  /** A reload changed the XMPP account: the rooms move to `link` once `retire` stopped the old client (Supervisor.replaceRoomLink). */
  replaceRoomLink(link: RoomLink, retire: () => Promise<void>, xmppMaxLength?: number): Promise<void> {
    return this.#supervisor.replaceRoomLink(link, retire, xmppMaxLength);
  }

  health(): RelayHealth {
    return this.#supervisor.health();
  }

  /** The sink a network delivers inbound messages to: resolves once they are committed. */
  sinkFor(networkId: string): MessageSink {
    return this.#sinkFor(networkId);
  }

  /** The outbox changed outside this relay (pollbridge outbox retry/drop): every worker looks again. */
  wake(): void {
    this.#supervisor.wake();
  }
}
