// The one interface through which the relay sees a group network (WebQQ, OneBot, Telegram).
// Networks implement it; the relay consumes it. Neither imports the other.

export interface InboundMessage {
  /** The network's own id for this message, stable across redelivery (used for dedupe). */
  id: string;
  /** The group as configured in pollbridge.yaml (WebQQ: the group name; OneBot: the group id). */
  group: string;
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
  constructor(message: string, kind: "retry" | "unknown" | "fatal", opts?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, { cause: opts?.cause });
    this.name = "SendError";
    this.kind = kind;
    this.retryAfterMs = opts?.retryAfterMs;
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
