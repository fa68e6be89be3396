// A relay target (one XMPP room, or one group of one network) as its outbox worker sees it.
import type { OutboxItem } from "../store/outbox.ts";

/** What one send attempt proved. */
export type SendOutcome =
  /** Confirmed by the target (room reflection, network success answer). */
  | { kind: "delivered"; resultId?: string }
  /** Certainly not delivered: try again after a backoff (or the target's own delay). */
  | { kind: "retry"; error: string; afterMs?: number }
  /** Maybe delivered: the item keeps its attempt mark and is settled by evidence (check()). */
  | { kind: "unconfirmed"; error: string; serverDone?: boolean }
  /** Never deliverable: a dead letter. */
  | { kind: "fatal"; error: string };

/** What the evidence says about an item whose last send is unconfirmed (attemptedAt is set). */
export type Verdict =
  /** Not delivered: send it (again). */
  | { kind: "send" }
  /** Nothing can tell whether it was delivered: send it again, at least once (counted). */
  | { kind: "resend-unconfirmed"; reason: string }
  /** It was delivered (found in the target's history). */
  | { kind: "delivered"; resultId?: string }
  /** Not known yet: look again on a change (a join, an echo) or after `ms`. */
  | { kind: "wait"; ms?: number }
  /** The evidence could not be read now (history lookup failed): a failure, asked again after a backoff. */
  | { kind: "check-failed"; error: string };

export interface Target {
  /** Outbox target key: "xmpp:<room>" or "net:<network>:<group>". */
  readonly key: string;
  /** Longest text one send may carry. */
  readonly maxLength: number;
  /** True when a send can succeed now (room joined, network logged in). */
  ready(): boolean;
  /** Called when readiness may have changed. */
  onChange(listener: () => void): void;
  check(item: OutboxItem): Promise<Verdict>;
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
