// An in-process NetworkAdapter for relay tests: a real implementation of the interface that
// records what was sent, lets a test push inbound messages (awaiting the relay's durability
// point), and injects faults: sends failing with each SendError kind, before or after the
// message reached the group, or held until released. Evidence is modelled as the real networks
// give it: with `echo`, every message that reaches the group comes back to the sink as an own
// message with the id send() answers; with `history`, findSent() looks in what reached the group.
// Rich messages: with `features`, replies and media (SendOptions), edit(), retract() and
// fetchMedia() work as a network that has them does, and each call is recorded; a network without
// a feature refuses its call (the relay must not make it).
import { EventEmitter } from "node:events";
import { SendError, type InboundMessage, type MediaRef, type MessageSink, type NetworkAdapter, type NetworkStatus, type SendOptions, type SendResult } from "../../bridge/network.ts";

export interface SentMessage {
  group: string;
  text: string;
  id: string;
  time: Date;
  /** The send's options (reply, media), when it had any. */
  opts?: SendOptions;
  /** Set once edit() replaced its text (the latest text is `text`). */
  edited?: boolean;
  /** Set once retract() removed it. */
  retracted?: boolean;
}

export type Features = NonNullable<NetworkAdapter["features"]>;

export interface SendFault {
  kind: "retry" | "unknown" | "fatal";
  retryAfterMs?: number;
  /** For "unknown": the message did reach the group before the error (an after-delivery fault). */
  delivered?: boolean;
  /** For "unknown": the server was done with the request (SendError.serverDone), not timed out. */
  serverDone?: boolean;
}

/** Inbound ids unique across instances, so a "restarted" network never repeats an old id. */
let inboundSeq = 0;

export class MemoryNetwork implements NetworkAdapter {
  readonly id: string;
  readonly type = "memory";
  readonly maxMessageLength: number;
  evidence: { echo: boolean; history: boolean };
  readonly sent: SentMessage[] = [];
  /** Every call to send(), including failed ones. */
  readonly attempts: { group: string; text: string }[] = [];
  readonly #groups: string[];
  readonly #events = new EventEmitter<{ sent: [SentMessage]; attempt: []; echoed: []; changed: [] }>();
  readonly features: Features;
  /** Every edit() and retract() that reached the group, in order. */
  readonly edits: { group: string; id: string; text: string }[] = [];
  readonly retractions: { group: string; id: string }[] = [];
  /** Every fetchMedia() call. */
  readonly fetches: { ref: string; maxBytes: number }[] = [];
  readonly #media = new Map<string, { data: Uint8Array; mime: string; name: string }>();
  /** retract() refuses with this fatal error while set (the bot lacks the right). */
  #retractRefusal: string | undefined;
  readonly #statusListeners: ((s: NetworkStatus) => void)[] = [];
  readonly #faults: SendFault[] = [];
  /** Echoes not handed to the sink yet, in order (a network delivers its events in order). */
  #echoChain: Promise<void> = Promise.resolve();
  #lostEchoes = 0;
  #failedLookups = 0;
  /** Every findSent() call. */
  readonly lookups: { group: string; text: string; since: Date }[] = [];
  #held: Promise<void> | undefined;
  #release: (() => void) | undefined;
  #status: NetworkStatus = { ok: false, state: "stopped" };
  #sink: MessageSink | undefined;
  #online: boolean;
  #seq = 0;

  constructor(opts: { id: string; groups: string[]; maxMessageLength?: number; online?: boolean; evidence?: { echo?: boolean; history?: boolean; fence?: boolean }; features?: Features }) {
    this.id = opts.id;
    this.features = { ...opts.features };
    this.evidence = { echo: opts.evidence?.echo ?? false, history: opts.evidence?.history ?? false };
    if (opts.evidence?.fence) this.echoesThrough = () => this.echoesComplete;
    this.#groups = opts.groups;
    this.maxMessageLength = opts.maxMessageLength ?? 4000;
    this.#online = opts.online ?? true;
  }

  async start(sink: MessageSink): Promise<void> {
    this.#sink = sink;
    this.#setStatus(this.#online ? { ok: true, state: "online" } : { ok: false, state: "login-required" });
  }

  async stop(): Promise<void> {
    this.#sink = undefined;
    this.#setStatus({ ok: false, state: "stopped" });
  }

  async send(group: string, text: string, opts?: SendOptions): Promise<SendResult> {
    this.attempts.push({ group, text });
    this.#events.emit("attempt");
    if (this.#held) await this.#held;
    if (!this.#groups.includes(group)) throw new SendError(`no group "${group}"`, "fatal");
    if (opts?.replyTo !== undefined && !this.features.reply) throw new Error(`${this.id} has no native replies`);
    if (opts?.media !== undefined && !this.features.media) throw new Error(`${this.id} cannot post media`);
    const fault = this.#faults.shift();
    if (fault) {
      if (fault.kind === "unknown" && fault.delivered) this.#record(group, text, opts);
      throw new SendError(`injected ${fault.kind}`, fault.kind, { retryAfterMs: fault.retryAfterMs, serverDone: fault.serverDone });
    }
    return { id: this.#record(group, text, opts).id };
  }

  async edit(group: string, id: string, text: string): Promise<SendResult> {
    if (!this.features.edit) throw new Error(`${this.id} has no edits`);
    const fault = this.#faults.shift();
    if (fault && !(fault.kind === "unknown" && fault.delivered)) throw new SendError(`injected ${fault.kind}`, fault.kind, { retryAfterMs: fault.retryAfterMs });
    const m = this.sent.find((s) => s.id === id && s.group === group);
    if (!m || m.retracted) throw new SendError(`no message ${id} to edit`, "fatal");
    m.text = text;
    m.edited = true;
    this.edits.push({ group, id, text });
    this.#events.emit("changed");
    if (fault) throw new SendError("injected unknown (after the edit)", "unknown");
    return { id };
  }

  async retract(group: string, id: string): Promise<void> {
    if (!this.features.retract) throw new Error(`${this.id} has no retractions`);
    if (this.#retractRefusal) throw new SendError(this.#retractRefusal, "fatal");
    const fault = this.#faults.shift();
    if (fault && !(fault.kind === "unknown" && fault.delivered)) throw new SendError(`injected ${fault.kind}`, fault.kind, { retryAfterMs: fault.retryAfterMs });
    const m = this.sent.find((s) => s.id === id && s.group === group);
    if (m) m.retracted = true; // a message already gone (or someone else's) resolves
    this.retractions.push({ group, id });
    this.#events.emit("changed");
    if (fault) throw new SendError("injected unknown (after the recall)", "unknown");
  }

  /** retract() fails for good with this reason (the bot lacks the right), or works again (undefined). */
  refuseRetract(reason: string | undefined): void {
    this.#retractRefusal = reason;
  }

  /** Makes a picture or file fetchable by its ref (a MediaRef this network hands to the sink). */
  addMedia(ref: string, file: { data: Uint8Array; mime: string; name: string }): void {
    this.#media.set(ref, file);
  }

  async fetchMedia(media: MediaRef, maxBytes: number): Promise<{ data: Uint8Array; mime: string; name: string }> {
    if (!this.features.media) throw new Error(`${this.id} has no media`);
    this.fetches.push({ ref: media.ref, maxBytes });
    const file = this.#media.get(media.ref);
    if (!file) throw new Error(`no media ${media.ref}`);
    if (file.data.byteLength > maxBytes) throw new Error(`${file.name} is ${file.data.byteLength} bytes, over the limit of ${maxBytes}`);
    return file;
  }

  /** Resolves once `done()` holds, looked at after every send, edit and retraction. */
  waitUntil(done: () => boolean): Promise<void> {
    return this.#waitFor("changed", done);
  }

  #record(group: string, text: string, opts?: SendOptions): SentMessage {
    const m: SentMessage = { group, text, id: `${this.id}-out-${++this.#seq}`, time: new Date(), ...(opts && (opts.replyTo !== undefined || opts.media) ? { opts } : {}) };
    this.sent.push(m);
    this.#events.emit("sent", m);
    this.#events.emit("changed");
    if (this.evidence.echo) {
      if (this.#lostEchoes > 0) this.#lostEchoes -= 1;
      else this.#echo(m);
    }
    return m;
  }

  /** Hands our own message back to the sink, after the echoes before it. */
  #echo(m: SentMessage): void {
    const sink = this.#sink;
    if (!sink) return;
    const own: InboundMessage = { id: m.id, group: m.group, senderId: "self", senderName: "bridge-bot", text: m.text, time: m.time, own: true };
    this.#echoChain = this.#echoChain.then(() => sink(own)).then(() => void this.#events.emit("echoed"));
  }

  /**
   * With `fence`: NetworkAdapter.echoesThrough, as a test sets it (`echoesComplete`); a network
   * without one leaves the method out.
   */
  echoesThrough?: () => number | undefined;
  /** performance.now() up to which this network says every own echo went through the sink. */
  echoesComplete: number | undefined;

  /** Resolves once every echo emitted so far was committed by the sink. */
  echoesSettled(): Promise<void> {
    return this.#echoChain;
  }

  /** The echoes of the next `n` messages that reach the group never come. */
  loseEchoes(n: number): void {
    this.#lostEchoes += n;
  }

  /** The next `n` history lookups throw (the server cannot answer now). */
  failLookups(n: number): void {
    this.#failedLookups += n;
  }

  async findSent(group: string, text: string, since: Date): Promise<SendResult | null> {
    this.lookups.push({ group, text, since });
    if (!this.evidence.history) throw new Error("this network has no history");
    if (this.#failedLookups > 0) {
      this.#failedLookups -= 1;
      throw new Error("injected history failure");
    }
    const found = this.sent.find((m) => m.group === group && m.text === text && m.time.getTime() >= since.getTime());
    return found ? { id: found.id } : null;
  }

  async groups(): Promise<string[]> {
    return [...this.#groups];
  }

  status(): NetworkStatus {
    return this.#status;
  }

  onStatus(listener: (s: NetworkStatus) => void): void {
    this.#statusListeners.push(listener);
  }

  #setStatus(s: NetworkStatus): void {
    this.#status = s;
    for (const l of this.#statusListeners) l(s);
  }

  /** Login lost (false) or regained (true). */
  setOnline(online: boolean): void {
    this.#online = online;
    if (this.#sink) this.#setStatus(online ? { ok: true, state: "online" } : { ok: false, state: "relogin" });
  }

  /** The next sends fail with these faults, in order. */
  failNext(...faults: SendFault[]): void {
    this.#faults.push(...faults);
  }

  /** Sends wait (after being attempted) until release(). */
  hold(): void {
    this.#held ??= new Promise((r) => (this.#release = r));
  }

  release(): void {
    this.#release?.();
    this.#held = undefined;
    this.#release = undefined;
  }

  /** Delivers an inbound message to the relay; resolves when the relay made it durable. */
  push(msg: Partial<InboundMessage> & { group: string; text: string }): Promise<void> {
    if (!this.#sink) throw new Error(`network ${this.id} is not started`);
    return this.#sink({ id: `${this.id}-in-${++inboundSeq}`, senderId: "u1", senderName: "alice", time: new Date(), ...msg });
  }

  /** Resolves once at least `n` messages were sent successfully. */
  waitForSent(n: number): Promise<SentMessage[]> {
    return this.#waitFor("sent", () => this.sent.length >= n).then(() => this.sent);
  }

  /** Resolves once send() was called at least `n` times. */
  waitForAttempts(n: number): Promise<void> {
    return this.#waitFor("attempt", () => this.attempts.length >= n);
  }

  #waitFor(event: "sent" | "attempt" | "changed", done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        this.#events.off(event, check);
        resolve();
      };
      this.#events.on(event, check);
    });
  }
}
