// Why a room send was not confirmed. The relay decides from `reason` whether the room certainly
// did not take the message (resend) or may hold it (look for its reflection after a rejoin).

export type RoomSendFailure =
  | "not-joined" // refused before anything was sent
  | "empty" // nothing left to send after stripping: never sendable
  | "invalid" // bad send options (an empty reply/correction id, an OOB URL that is not http(s)): never sendable
  | "refused" // the room answered with an error stanza: not in the room
  | "timeout" // sent, no reflection in time: maybe in the room
  | "lost" // the session or the room was lost before the reflection: maybe in the room
  | "stopped" // the client stopped before the reflection: maybe in the room
  | "write-failed"; // the socket failed while writing: maybe a prefix of the parts is in the room

export class RoomSendError extends Error {
  readonly reason: RoomSendFailure;
  constructor(reason: RoomSendFailure, message: string) {
    super(message);
    this.name = "RoomSendError";
    this.reason = reason;
  }

  /** True when no retry can ever send it (a dead letter): nothing was sent. */
  get neverSendable(): boolean {
    return this.reason === "empty" || this.reason === "invalid";
  }

  /** True when the room certainly holds no part of the message. */
  get notSent(): boolean {
    return this.reason === "not-joined" || this.reason === "refused";
  }
}
