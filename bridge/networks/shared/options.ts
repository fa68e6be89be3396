// What every network's create function takes (the registry fills it from the run); a network's
// own options extend it with its config section and its test knobs.
import type { Logger } from "pino";
import type { ResponseInfo, RetryOptions } from "../../../src/index.ts";

export interface NetworkOptions {
  /** The network's key in the config (e.g. "qq"). */
  id: string;
  /** Absolute state directory (saved sessions, offsets, undelivered events; files mode 0600). */
  stateDir: string;
  logger: Logger;
  /** The groups of this network that bridges name (as written in the config). */
  groups: string[];
  /** HTTP retries and the bounds of the short backoff; tests pass tiny delays. */
  retry?: Partial<RetryOptions>;
  /** Observes the network's HTTP answers (poll latency metrics). */
  onResponse?: (info: ResponseInfo) => void;
  /**
   * Called once per inbound event the network could not turn into a message (wrong shape, bad
   * field): the event was logged with its id, acknowledged and skipped. Feeds
   * pollbridge_events_rejected_total{network}.
   */
  onEventRejected?: (reason: string) => void;
}
