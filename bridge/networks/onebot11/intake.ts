// The order events reach the inbound side: while a catch-up from history runs, live events wait
// (they are newer than anything it can find), then go in the order they came. Callers get a
// promise that resolves once their event was handed to the sink.
import type { Inbound } from "./inbound.ts";

interface Held {
  event: unknown;
  resolve(): void;
  reject(err: unknown): void;
}

export class Intake {
  private readonly inbound: Inbound;
  private held: Held[] | null = null;

  constructor(inbound: Inbound) {
    this.inbound = inbound;
  }

  /** A live event (socket, webhook, stream). */
  event(event: unknown): Promise<void> {
    if (this.held === null) return this.inbound.handle(event);
    if (!this.inbound.relevant(event)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.held!.push({ event, resolve, reject }));
  }

  /** From now until release(), live events wait. */
  hold(): void {
    this.held ??= [];
  }

  get holding(): boolean {
    return this.held !== null;
  }

  /** The waiting events go on, in order, after whatever the catch-up handed over. */
  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const h of held) this.inbound.handle(h.event).then(h.resolve, h.reject);
  }
}
