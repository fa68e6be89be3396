// The one interface through which the relay sees a group network (WebQQ, OneBot 11 and 12,
// Telegram, the QQ bot API). Networks implement it; the relay consumes it. Neither imports the
// other, and a network never imports another network.
//
// # Adding a network
//
// A network is one folder, one registry line and one config schema entry. Read one existing
// folder next to this text (telegram/ is the smallest whole one) and follow the same shape.
//
// **The folder** `bridge/networks/<type>/` holds the protocol and nothing else. `index.ts`
// exports `create<Type>(opts)`, where `opts` extends `NetworkOptions` (shared/options.ts) with
// the network's config section and any test knobs, and returns a `NetworkAdapter`. The other
// files are the protocol, one concern each: the API calls and how their answers read, the
// inbound event → `InboundMessage` parser, the poll or socket, the send and how its failures
// classify, and any state file (shared/state-file.ts writes them atomically, mode 0600).
//
// **The skeleton** `NetworkSkeleton` (shared/skeleton.ts) is everything that is not protocol;
// make one per adapter and use it, never a copy of it:
//   - status: `net.setStatus(state, detail)` ("online" is the one ok state; details pass the
//     `redact` you give it, so a token inside an error never shows); spread `...net.base` into
//     the adapter for `id`, `type`, `status()` and `onStatus()`.
//   - start: `net.starting()` first (refuses a second start); then `net.run(work)` for the
//     receiving. Where the network connects and identifies in sessions, the work is
//     `net.supervise(session, failure)`: a session connects, calls `net.failures.ok()` once the
//     server took it, receives until it ends and resolves with the wait before the next one; a
//     throw goes through `failure(err)` → `{auth}` (credentials refused: long waits, status
//     auth-failed) or `{state, detail}` (short growing backoff). `net.untilDone` is the same for
//     one call that must succeed once. A second connection (a socket beside the HTTP API) takes
//     its own count from `net.newFailures()`. Never write another backoff loop.
//   - stop: `net.stop(close)` aborts `net.signal` (every wait and request must honour it), waits
//     for the work under way (bounded), then runs `close` (streams, listeners, flushes).
//   - inbound: `net.deliver(sink, msg)`; `net.rejected(reason, {id}, what)` for an event that
//     cannot be a message (logged once a minute per id, counted, skipped); `net.warnings` for
//     any other warning a peer can make us repeat.
//   - send: `net.refuseTooLong(group, text, maxMessageLength)`.
//   Also shared: request-sent.ts (`transportSendKind`: was a failed request sent?), snippet.ts
//   (the one excerpt of a peer's body for logs), readable.ts (the placeholder for an empty text).
//
// **The contract**, which the relay's zero-loss promise rests on:
//   - A durable sink. Await the sink (`net.deliver`) before the message is acknowledged upstream
//     or the poll re-armed: once it resolves, the message is in the outbox. Where the server
//     forgets a message as soon as it handed it over, keep it in a state file until the sink took
//     it, and deliver that file first on the next start. Own echoes (`own: true`) go to the sink
//     like any message.
//   - SendError kinds. `retry` only when the message certainly was not delivered (the request
//     never fully left: `transportSendKind`, or the server said it did nothing); `unknown` when it
//     may have been (the answer lost, cut, stalled or unreadable); `fatal` for never deliverable
//     (a visible dead letter). Never resend inside the network: the relay settles `unknown`.
//   - Evidence. `evidence.echo` when our own sends come back as `own` messages; `evidence.history`
//     with `findSent()` when the group's history can be read. With neither, the relay resends an
//     unconfirmed send (at least once, counted), so say only what is true (a getter may learn it).
//     A network that polls can say how far its echoes are complete (`echoesThrough`), and a send
//     failure whether the server was done with the request (`SendError.serverDone`): together
//     they settle a send that did not land without waiting out the echo window.
//   - `crashGap`: what a kill -9 can cost the inbound that nothing can fetch again (a poll answer
//     on its way, with no acknowledgement and no history); it is logged after such a run.
//   - Ids. `SendResult.id` is in exactly the form of the `InboundMessage.id` the echo of that
//     message will carry (`group:message_id` where the network has that form), or "" when the
//     network gives none. Never a local counter: the relay matches echoes against it.
//   - One send is one wire message. The relay splits at `maxMessageLength` (UTF-16 units,
//     bridge/relay/split.ts); a network never splits or joins, so each outcome belongs to one
//     outbox item. Set `maxMessageLength` to what one wire message surely takes.
//   - Rich messages. Set `features` only for what the network does natively, and implement what
//     it names: `reply` (SendOptions.replyTo), `edit` (edit()), `retract` (retract()), `media`
//     (SendOptions.media, fetchMedia(); a MediaRef never holds a token URL), `mention`. Inbound,
//     fill `kind`, `ref`, `replyTo`, `media`, `mentionsSelf` in the id form above.
//   - `ready(group)` only when a logged-in network may still be unable to send to one group.
//
// **The registry line** in bridge/networks/registry.ts maps the config type to `create<Type>`;
// the compiler refuses a config type without one. **The config schema entry** is a strict zod
// object in bridge/config/schema.ts, added to NETWORK_SCHEMAS under its `type`; the type list,
// the `networks:` union and the config type (types.ts: z.output of the entry) follow from it, and
// `pollbridge check` names bad keys by their path.
//
// **A strict simulator** in test/sim/<type>.ts (+ test/sim/<type>/) serves the real wire
// protocol on loopback and refuses what the real server refuses (bad auth, wrong shapes, over-long
// texts), recording violations; it supports the shared send faults of test/sim/shared/control.ts
// (`reset`, `500`, `stall` and their `-after` twins, where the action did run).
//
// **Tests** in test/bridge/networks/<type>/, against the simulator: receive (in order, nothing
// lost across a failing sink or a restart), every send fault in both variants (before the server
// acted: `retry`, nothing delivered; after: `unknown`, delivered once, settled by evidence),
// hostile input (wrong shapes rejected once with their id, the chain goes on), a refused
// credential (auth-failed, slow retries, back online), stop during each wait; and the network in
// test/e2e/networks.test.ts, exactly once with a sentinel.

export interface InboundMessage {
  /** The network's own id for this message, stable across redelivery (used for dedupe). */
  id: string;
  /** The group as configured in pollbridge.yaml (WebQQ: the group name; OneBot: the group id). */
  group: string;
  /** The sender's account id on the network (a name may change, this does not). Nothing in the relay reads it yet. */
  senderId: string;
  senderName: string;
  text: string;
  /** Links the message carries that are not media the bridge can fetch (shown as text). */
  attachments?: string[]; // URLs
  /**
   * "message" (the default); "edit": `text` replaces the text of message `ref`; "retract": message
   * `ref` was recalled or deleted (`text` is "").
   */
  kind?: "message" | "edit" | "retract";
  /** edit / retract: the id (InboundMessage.id form) of the message edited or retracted. */
  ref?: string;
  /** The id (InboundMessage.id form) of the message this one replies to. */
  replyTo?: string;
  /** Pictures and files, fetched by the relay through fetchMedia() and uploaded to the room. */
  media?: MediaRef[];
  /**
   * The message @-mentions the bridge's own account (QQ puts one in a reply to a relayed message).
   * The network removes that @ from `text`; the relay shows the nick of the XMPP author instead.
   */
  mentionsSelf?: boolean;
  time: Date;
  /**
   * Sent by the bridge's own account: an echo of one of our sends (OneBot 11 `message_sent` or a
   * self message, OneBot 12 / QQ bot own message events). Never relayed; the relay uses it as
   * evidence that the target's unconfirmed send was delivered. Hand it to the sink as durably as
   * any inbound message (before the poll re-arms or the event is acknowledged).
   */
  own?: boolean;
}

/**
 * A picture or file of an inbound message. `ref` is opaque to the relay and is resolved by the
 * network that made it (fetchMedia). It never holds a URL with a token in it (Telegram: the
 * file_id, not the file URL): it is stored in the outbox and may show in logs.
 */
export interface MediaRef {
  kind: "image" | "file";
  ref: string;
  name?: string;
  size?: number;
  mime?: string;
}

/** What a send carries besides its text. Each is used only where `features` says so. */
export interface SendOptions {
  /** Reply natively to this message of the group (InboundMessage.id / SendResult.id form). */
  replyTo?: string;
  /** Post a picture or file the network can fetch from this URL; `text` is its caption. */
  media?: { kind: "image" | "file"; url: string; name?: string };
}

/**
 * Receives inbound messages in order. The network awaits it before it acknowledges the message
 * upstream (or re-arms its poll): once the promise resolves, the message is durable.
 */
export type MessageSink = (msg: InboundMessage) => Promise<void>;

export interface NetworkStatus {
  /** true when logged in and receiving. */
  ok: boolean;
  /** e.g. "starting", "login-required", "online", "relogin", "stopped". */
  state: string;
  detail?: string;
}

export interface SendResult {
  /**
   * The network's id of the sent message, in the same form as the InboundMessage.id the network
   * gives that message when it comes back as an own echo (so the relay can recognise the echo of
   * a send it already confirmed); "" when the network gives none.
   */
  id: string;
}

/**
 * Thrown by send(). `retry`: certainly not delivered (the request never left, or the server said
 * it did nothing), try again later. `unknown`: it may have been delivered (the request left and
 * the answer was lost, cut or unreadable, or the server's code means "maybe"); the relay settles
 * it by evidence (own echo, history) or resends it at least once. `fatal`: never deliverable
 * (a bad group, a message the server refuses as such): a visible dead letter.
 */
export class SendError extends Error {
  readonly kind: "retry" | "unknown" | "fatal";
  readonly retryAfterMs?: number;
  /**
   * `unknown` only: the server was done with the request when the send failed (it answered, or
   * closed the connection; `serverDone()` in shared/request-sent.ts), not still holding it at a
   * timeout. If it delivered, its own echo exists already (see NetworkAdapter.echoesThrough).
   */
  readonly serverDone?: boolean;
  constructor(message: string, kind: "retry" | "unknown" | "fatal", opts?: { cause?: unknown; retryAfterMs?: number; serverDone?: boolean }) {
    super(message, { cause: opts?.cause });
    this.name = "SendError";
    this.kind = kind;
    this.retryAfterMs = opts?.retryAfterMs;
    if (opts?.serverDone) this.serverDone = true;
  }
}

export interface NetworkAdapter {
  /** The network's key in the config (e.g. "qq"). */
  readonly id: string;
  /** "webqq" | "onebot11" | "onebot12" | "telegram". */
  readonly type: string;
  /** Longest text one send() accepts; the relay splits longer messages. */
  readonly maxMessageLength: number;
  /** Starts receiving; resolves once started (not necessarily logged in: see status()). */
  start(sink: MessageSink): Promise<void>;
  /** Stops polling, waits for in-flight work. */
  stop(): Promise<void>;
  /** Sends text to a configured group; resolves with the network's message id once the server accepted it. */
  send(group: string, text: string, opts?: SendOptions): Promise<SendResult>;
  /**
   * What the network does natively (absent = none). reply: SendOptions.replyTo; edit: edit();
   * retract: retract(); media: SendOptions.media and fetchMedia(); mention: an "@Name" of a group
   * member in the text becomes the network's mention.
   */
  readonly features?: { reply?: boolean; edit?: boolean; retract?: boolean; media?: boolean; mention?: boolean };
  /** Replaces the text of a message we sent (its SendResult.id). Throws SendError like send(). */
  edit?(group: string, id: string, text: string): Promise<SendResult>;
  /** Recalls a message we sent (its SendResult.id), or one we may delete. Throws SendError like send(); a message already gone resolves. */
  retract?(group: string, id: string): Promise<void>;
  /** Fetches the bytes of a MediaRef this network made; refuses (throws) above maxBytes. */
  fetchMedia?(media: MediaRef, maxBytes: number): Promise<{ data: Uint8Array; mime: string; name: string }>;
  /**
   * How this network can prove what an unconfirmed send did. `echo`: our own sends come back to
   * the sink with `own: true` (when the echo is switched on at the server). `history`: findSent()
   * can look a send up. With neither, an unconfirmed send is resent (at least once, counted).
   */
  readonly evidence: { echo: boolean; history: boolean };
  /**
   * What a crash (kill -9, power loss) can cost this network's inbound that nothing can fetch
   * again, said after a run that did not stop cleanly; absent: nothing (events are acknowledged
   * only once stored, or a history fills the gap).
   */
  readonly crashGap?: string;
  /**
   * With evidence.echo, optional: a performance.now() time T such that every own message the
   * server made before T has gone through the sink (a poll sent at T was answered with all the
   * server held, and that answer is durable). An unconfirmed send the server was done with
   * (SendError.serverDone) is then settled as not delivered once T passes its failure by
   * ECHO_FENCE_GAP_MS, without waiting out relay.echo_window; undefined: nothing known yet.
   */
  echoesThrough?(): number | undefined;
  /**
   * With evidence.history: looks in the group's recent history for a message of our account with
   * exactly this text, sent at or after `since`. Resolves with its id, or null when it is not
   * there (so a resend is right); throws when it cannot tell now (the relay asks again later).
   */
  findSent?(group: string, text: string, since: Date): Promise<SendResult | null>;
  /** The groups the account can see (for `check` and logs). */
  groups(): Promise<string[]>;
  status(): NetworkStatus;
  /**
   * Optional: whether a send to this one group can succeed now, for a network that is logged in
   * but may not send to every group at every moment (QQ bot groups take only replies within a
   * window). false keeps the group's messages waiting in the outbox without a send; the network
   * fires onStatus when it may have become true.
   */
  ready?(group: string): boolean;
  /** Fired whenever status() changes (health, metrics). */
  onStatus?(listener: (s: NetworkStatus) => void): void;
}
