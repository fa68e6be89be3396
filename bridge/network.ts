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
  attachments?: string[]; // URLs
  replyTo?: string;
  time: Date;
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
  /** The network's id of the sent message ("" when the network gives none). */
  id: string;
}

/**
 * Thrown by send(). `retry`: nothing was delivered, try again later. `unknown`: it may have been
 * delivered (the relay decides; never blindly resent). `fatal`: never deliverable (bad group).
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
  send(group: string, text: string): Promise<SendResult>;
  /** The groups the account can see (for `check` and logs). */
  groups(): Promise<string[]>;
  status(): NetworkStatus;
  /** Fired whenever status() changes (health, metrics). */
  onStatus?(listener: (s: NetworkStatus) => void): void;
}
