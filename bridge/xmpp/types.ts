// The contract of the XMPP side as the relay uses it. Implemented by bridge/xmpp/muc-client.ts.

export interface XmppOptions {
  jid: string; // bridge@example.org (a resource may be given: bridge@example.org/pollbridge)
  password: string;
  /** xmpp://host:5222 or xmpps://host:5223; default: the JID's domain on 5222. */
  service?: string;
  nick: string;
  /** false only for a self-signed test server; default true. */
  verifyTls?: boolean;
  /**
   * required (default): log in only over TLS, except to a loopback service; opportunistic:
   * STARTTLS when offered, else unencrypted (never PLAIN); off: never TLS (for a local server).
   */
  tls?: "required" | "opportunistic" | "off";
  /** Force a SASL mechanism (tests use PLAIN to skip SCRAM's 10k PBKDF2 rounds). */
  saslMechanism?: string;
  /** Reconnect backoff bounds in ms (full jitter); default {min: 1000, max: 60000}. */
  reconnect?: { min: number; max: number };
  /** XEP-0410 self-ping interval in ms; default 60000. */
  selfPingInterval?: number;
  /** Body length (characters) above which a message is split; default 10000. */
  maxBodyLength?: number;
  /** How long a join waits for the room subject (end of history replay) after status 110; default 3000 ms. */
  subjectTimeout?: number;
  /** How long a join waits for status 110 before it is retried; default 30000 ms. */
  joinTimeout?: number;
}

export type History = { maxstanzas: number } | { since: Date };

export interface RoomOptions {
  nick?: string; // default: XmppOptions.nick
  password?: string;
  /** What the server replays on each (re)join. Default {maxstanzas: 0}. May be a function, asked at every join. */
  history?: History | (() => History);
}

export type RoomStateName = "joining" | "joined" | "failed" | "left";

export interface RoomState {
  room: string; // bare room JID
  state: RoomStateName;
  nick: string; // the nick we hold (may carry a suffix after a conflict)
  /** for failed: the room refused us ("banned", "item-not-found", "not-authorized", ...), or the login failed for good ("login-refused", "certificate-rejected", "tls-required": see XmppLoginFailure). */
  reason?: string;
}

export interface RoomMessage {
  room: string; // bare room JID
  nick: string; // occupant nick of the sender
  jid?: string; // real bare JID when the room shows it
  body: string;
  id?: string; // stanza id attribute
  originId?: string; // XEP-0359 origin-id
  stanzaId?: string; // XEP-0359 stanza-id assigned by the room
  /** XEP-0421 occupant-id the room gave the sender (stable across nick changes; set by Prosody ≥ 0.12). */
  occupantId?: string;
  /** Set when the message carries <delay/> (history replay): its original time. Never live. */
  delayed?: Date;
  /** Our own message reflected by the room (matched by our occupant nick in this room, or origin-id we sent). */
  own: boolean;
  /** XEP-0308: this corrects the message with that id (the original's id or origin-id, never its stanza-id); author checked as for `retracts`. */
  replaces?: string;
  /** XEP-0461: this replies to the message with that id (in a room: its stanza-id) and author. */
  replyTo?: { id: string; to?: string };
  /** With replyTo: the body with the XEP-0428 reply fallback (the quote) cut out. */
  bodyWithoutFallback?: string;
  /**
   * XEP-0424 / XEP-0425: this retracts the message with that id; body is only a fallback (may be
   * empty). Current clients name a room message by its stanza-id; older ones (retract:0 in
   * XEP-0422 apply-to) by its origin-id, so look the id up as both. Unless `moderated`, it counts
   * only from the original's author (XEP-0424 §6): MucClient drops one whose target it saw from
   * someone else (the last 10,000 messages); for older targets the relay must check.
   */
  retracts?: string;
  /** XEP-0425: the room retracted the message on a moderator's order (nick is the moderator's, or ""). */
  moderated?: { by?: string; reason?: string };
  /** XEP-0066: the URL of a file the message carries (clients show it inline when body is exactly this URL). */
  oob?: { url: string; desc?: string };
  time: Date; // delayed ?? receive time
}

/** What a room message carries besides its body (MucClient.send; RoomLink re-exports it). */
export interface RoomSendOptions {
  /** XEP-0359 origin-id of the first part (part k>0: `${originId}.${k}`); default a random UUID. */
  originId?: string;
  /** ms to wait for the room's reflection; default 30000. */
  timeout?: number;
  /**
   * XEP-0461: a reply to the message with room stanza-id `id`, written by occupant JID `to`
   * (room@service/nick). `fallback` is the replied text (e.g. "alice: hi"): it goes before the
   * body quoted ("> " per line), marked as the reply's fallback (XEP-0428) so that clients with
   * replies hide it.
   */
  replyTo?: { id: string; to?: string; fallback?: string };
  /** XEP-0308: corrects our message with this id (its origin-id, which is also its stanza id attribute). */
  replaces?: string;
  /** XEP-0066: the message is this http(s) file URL; the body must be exactly the URL for clients to show it inline (an empty body becomes the URL). */
  oob?: string;
}

/** A confirmed send: the origin-id of each part, and the stanza-id the room gave each (XEP-0359; undefined where the room does not archive). */
export interface RoomSendResult {
  originIds: string[];
  stanzaIds: (string | undefined)[];
}

/** The message a retraction names (XEP-0424): in a room its stanza-id; the origin-id adds the older form for older clients. */
export interface RetractTarget {
  stanzaId?: string;
  originId?: string;
}

export interface XmppEvents {
  online: [];
  offline: [];
  message: [RoomMessage];
  room: [RoomState]; // any room state change
  error: [Error];
}
