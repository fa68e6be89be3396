// A network's status as the relay sees it (status() + onStatus), logged on every change.
import type { Logger } from "pino";
import type { NetworkStatus } from "../../network.ts";

export interface StatusOptions {
  log: Logger;
  /** The network type, for the log line ("webqq status"). */
  network: string;
  /** Applied to every detail before it is kept or logged (e.g. to hide a token inside an error). */
  redact?: (detail: string) => string;
}

export class StatusHolder {
  private current: NetworkStatus = { ok: false, state: "stopped" };
  private readonly listeners: ((s: NetworkStatus) => void)[] = [];
  private readonly o: StatusOptions;

  constructor(o: StatusOptions) {
    this.o = o;
  }

  get(): NetworkStatus {
    return this.current;
  }

  /** Moves to `state` (ok only when "online"); a repeat of the current state and detail is no change. */
  set(state: string, detail?: string): void {
    const kept = detail === undefined ? undefined : (this.o.redact?.(detail) ?? detail);
    const next: NetworkStatus = { ok: state === "online", state, ...(kept === undefined ? {} : { detail: kept }) };
    if (next.state === this.current.state && next.detail === this.current.detail) return;
    this.current = next;
    this.o.log.info({ state, detail: kept }, `${this.o.network} status`);
    for (const l of this.listeners) l(next);
  }

  onStatus(listener: (s: NetworkStatus) => void): void {
    this.listeners.push(listener);
  }
}
