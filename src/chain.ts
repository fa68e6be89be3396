// A chain and its strands. A chain is what add() returns; each fan-out step runs as its own strand
// of the same chain (own failure count), and the chain is done when every strand has ended.
import { EventEmitter, setMaxListeners } from "node:events";
import type { Logger } from "pino";
import type { ChainHandle, ErrorPolicy, StepContext } from "./types.ts";

/** The reason a chain's signal carries after cancel() without a reason. */
export class ChainCancelledError extends Error {
  constructor(message = "chain cancelled") {
    super(message);
    this.name = "ChainCancelledError";
  }
}

/**
 * What undici listens on to abort a chain's requests. An EventEmitter listener costs far less per
 * request than an AbortSignal one; undici accepts either ("abort" event, `reason` property).
 */
export class AbortEmitter extends EventEmitter {
  reason: unknown = undefined;
  constructor() {
    super();
    this.setMaxListeners(0); // one listener per in-flight strand; fan-outs are wide on purpose
  }
}

export type StrandState = "delayed" | "sending" | "parked" | "reading" | "idle";

export class Strand implements StepContext {
  readonly chain: Chain;
  failures = 0;
  state: StrandState = "idle";
  /** Pending delay timer and its wake-up, so cancel() and close() can cut a delay short. */
  timer: NodeJS.Timeout | undefined = undefined;
  wake: (() => void) | undefined = undefined;

  constructor(chain: Chain) {
    this.chain = chain;
  }

  get signal(): AbortSignal {
    return this.chain.signal;
  }

  get log(): Logger {
    return this.chain.log;
  }
}

/** Ends a strand's delay now (timer fired, chain cancelled, or stream closing). */
export function wakeStrand(strand: Strand): void {
  if (strand.timer !== undefined) {
    clearTimeout(strand.timer);
    strand.timer = undefined;
  }
  const wake = strand.wake;
  if (wake !== undefined) {
    strand.wake = undefined;
    wake();
  }
}

export interface ChainOwner {
  readonly log: Logger;
  chainEnded(chain: Chain): void;
}

export class Chain implements ChainHandle {
  readonly id: number;
  readonly name: string;
  readonly done: Promise<void>;
  readonly onError: ErrorPolicy;
  readonly strands = new Set<Strand>();
  readonly wire = new AbortEmitter();
  private readonly controller = new AbortController();
  private readonly owner: ChainOwner;
  private childLog: Logger | undefined = undefined;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  private error: unknown = undefined;
  private failed = false;
  private ended = false;

  constructor(id: number, name: string, onError: ErrorPolicy, owner: ChainOwner) {
    this.id = id;
    this.name = name;
    this.onError = onError;
    this.owner = owner;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A chain that ends in error must never become an unhandled rejection that kills the process.
    this.done.catch(() => undefined);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The chain's child logger, made on first use. */
  get log(): Logger {
    this.childLog ??= this.owner.log.child({ chain: this.id, chainName: this.name });
    return this.childLog;
  }

  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  cancel(reason?: unknown): void {
    if (this.controller.signal.aborted) return;
    const why = reason ?? new ChainCancelledError();
    this.controller.abort(why);
    this.wire.reason = why;
    this.wire.emit("abort");
    for (const strand of this.strands) wakeStrand(strand);
    if (this.strands.size === 0) this.end();
  }

  /** Ends the chain with an error (policy "end"): other strands are cancelled, done rejects. */
  fail(err: unknown): void {
    if (this.failed || this.ended) return;
    this.failed = true;
    this.error = err;
    this.cancel(err);
  }

  addStrand(): Strand {
    const strand = new Strand(this);
    this.strands.add(strand);
    // Every strand's in-flight request listens on the chain's signal: a wide fan-out is expected.
    if (this.strands.size === 8) setMaxListeners(0, this.controller.signal);
    return strand;
  }

  strandEnded(strand: Strand): void {
    this.strands.delete(strand);
    if (this.strands.size === 0) this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.controller.signal.aborted) this.controller.abort(new ChainCancelledError("chain ended"));
    this.owner.chainEnded(this);
    if (this.failed) this.rejectDone(this.error);
    else this.resolveDone();
  }
}
