// A relay target (one XMPP room, or one group of one network) as its outbox worker sees it.
import type { OutboxItem } from "../store/outbox.ts";

/** What one send attempt proved. */
export type SendOutcome =
  /** Confirmed by the target (room reflection, network success answer). */
  | { kind: "delivered"; resultId?: string }
  /** Certainly not delivered: try again after a backoff (or the target's own delay). */
  | { kind: "retry"; error: string; afterMs?: number }
  /** Maybe delivered; the target can find out later (a room's history on the next join). */
  | { kind: "verify-later"; error: string }
  /** Never deliverable: dead-lettered as "failed". */
  | { kind: "fatal"; error: string }
  /** Maybe delivered and no way to know: dead-lettered as "unknown", never resent blindly. */
  | { kind: "unknown"; error: string };

/** What to do with an item whose earlier send was interrupted (attemptedAt is set). */
export type ResendVerdict = "send" | "wait" | "unknown";

export interface Target {
  /** Outbox target key: "xmpp:<room>" or "net:<network>:<group>". */
  readonly key: string;
  /** Longest text one send may carry. */
  readonly maxLength: number;
  /** True when a send can succeed now (room joined, network logged in). */
  ready(): boolean;
  /** Called when readiness may have changed. */
  onChange(listener: () => void): void;
  resendVerdict(item: OutboxItem): ResendVerdict;
  send(item: OutboxItem): Promise<SendOutcome>;
  describe(): { ok: boolean; state: string; detail?: string };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function roomTargetKey(room: string): string {
  return `xmpp:${room}`;
}

export function groupTargetKey(network: string, group: string): string {
  return `net:${network}:${group}`;
}
