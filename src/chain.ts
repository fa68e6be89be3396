// A chain and its strands. A chain is what add() returns; each fan-out step runs as its own strand
// of the same chain (own failure count), and the chain is done when every strand has ended.
// Parked long polls are mostly chains doing nothing, so a chain makes its AbortSignal and its
// `done` promise only when someone asks for them.
import type { Logger } from "pino";
import type { ChainHandle, ErrorPolicy, StepContext } from "./types.ts";

/** The reason a chain's signal carries after cancel() without a reason. */
export class ChainCancelledError extends Error {
  constructor(message = "chain cancelled") {
    super(message);
    this.name = "ChainCancelledError";
  }
}

type Listener = () => void;

/**
 * What undici listens on to abort a chain's requests: the EventEmitter shape undici accepts
 * (`once`/`on`/`removeListener("abort")` and `reason`), without EventEmitter's or AbortSignal's
 * weight per chain and per request. It must not have an `aborted` property: undici would then
 * treat it as an AbortSignal.
 */
export class AbortWire {
  reason: unknown = undefined;
  // One listener per in-flight request of the chain: usually one, so no array until a second.
  private listener: Listener | undefined = undefined;
  private more: Listener[] | undefined = undefined;

  on(_event: "abort", fn: Listener): this {
    if (this.listener === undefined) this.listener = fn;
    else if (this.more === undefined) this.more = [fn];
    else this.more.push(fn);
    return this;
  }

  once(event: "abort", fn: Listener): this {
    return this.on(event, fn); // fire() runs every listener at most once anyway
  }

  removeListener(_event: "abort", fn: Listener): this {
    if (this.listener === fn) {
      this.listener = this.more?.pop();
    } else if (this.more !== undefined) {
      const i = this.more.lastIndexOf(fn);
      if (i >= 0) this.more.splice(i, 1);
    }
    return this;
  }

  fire(reason: unknown): void {
    this.reason = reason;
    const first = this.listener;
    const more = this.more;
    this.listener = undefined;
    this.more = undefined;
    first?.();
    if (more !== undefined) for (const fn of more) fn();
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

const ENDED = new ChainCancelledError("chain ended");

/**
 * A chain is its own AbortWire: its in-flight requests listen on it directly, so a parked poll
 * carries no separate abort object. `reason` (the wire's) is the cancel reason.
 */
export class Chain extends AbortWire implements ChainHandle {
  readonly id: number;
  readonly onError: ErrorPolicy;
  private readonly givenName: string | undefined;
  /** Live strands; usually one, a few after a fan-out. */
  strands: Strand[] = [];
  /** Set once: the chain was cancelled (or failed); nothing more is sent. */
  cancelled = false;
  private controller: AbortController | undefined = undefined;
  private readonly owner: ChainOwner;
  private childLog: Logger | undefined = undefined;
  private donePromise: Promise<void> | undefined = undefined;
  private resolveDone: (() => void) | undefined = undefined;
  private rejectDone: ((err: unknown) => void) | undefined = undefined;
  private error: unknown = undefined;
  private failed = false;
  private ended = false;

  constructor(id: number, name: string | undefined, onError: ErrorPolicy, owner: ChainOwner) {
    super();
    this.id = id;
    this.givenName = name;
    this.onError = onError;
    this.owner = owner;
  }

  /** The name given to add() (or the request's), else "chain-<id>", made on demand. */
  get name(): string {
    return this.givenName ?? `chain-${this.id}`;
  }

  /** Resolves when the chain ends; rejects when it ended by policy "end" (or a throwing policy). */
  get done(): Promise<void> {
    if (this.donePromise === undefined) {
      if (this.ended) {
        this.donePromise = this.failed ? Promise.reject(this.error) : Promise.resolve();
      } else {
        this.donePromise = new Promise<void>((resolve, reject) => {
          this.resolveDone = resolve;
          this.rejectDone = reject;
        });
      }
      // A chain that ends in error must never become an unhandled rejection that kills the process.
      this.donePromise.catch(() => undefined);
    }
    return this.donePromise;
  }

  /** Aborts when the chain is cancelled, fails or ends. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.cancelled || this.ended) this.controller.abort(this.reason ?? ENDED);
    }
    return this.controller.signal;
  }

  /** The chain's child logger, made on first use. */
  get log(): Logger {
    this.childLog ??= this.owner.log.child({ chain: this.id, chainName: this.name });
    return this.childLog;
  }

  cancel(reason?: unknown): void {
    if (this.cancelled || this.ended) return;
    this.cancelled = true;
    const why = reason ?? new ChainCancelledError();
    this.reason = why;
    this.controller?.abort(why);
    this.fire(why);
    for (const strand of this.strands) wakeStrand(strand);
    if (this.strands.length === 0) this.end();
  }

  /** Ends the chain with an error (policy "end"): other strands are cancelled, done rejects. */
  fail(err: unknown): void {
    if (this.failed || this.ended) return;
    this.failed = true;
    this.error = err;
    this.cancelled = false; // a cancel racing in does not turn the failure into a clean end
    this.cancel(err);
  }

  addStrand(): Strand {
    const strand = new Strand(this);
    // A literal holds exactly one element; push() on an empty array reserves room for 17.
    if (this.strands.length === 0) this.strands = [strand];
    else this.strands.push(strand);
    return strand;
  }

  strandEnded(strand: Strand): void {
    const i = this.strands.indexOf(strand);
    if (i >= 0) this.strands.splice(i, 1);
    if (this.strands.length === 0) this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    // Readers still holding ctx.signal (an SSE body, say) learn that the chain is over.
    if (this.controller !== undefined && !this.controller.signal.aborted) this.controller.abort(ENDED);
    this.owner.chainEnded(this);
    if (this.failed) this.rejectDone?.(this.error);
    else this.resolveDone?.();
  }
}
