// Fault injection for the chaos run, through each simulator's control API. Send faults are drawn
// by the simulator itself, per send request, at the plan's rates (POST /_sim/fault-rates): they
// fall on requests as a flaky server's would, never piled onto whatever the bridge sends next at
// the driver's pace. Their names are the ones every simulator shares (see TEAM contract): before
// delivery (reset, 500, stall: the action does not run) and after it (reset-after, 500-after,
// stall-after: the message is delivered, the answer lost). Poll faults (a lost session) are
// queued by the driver (/_sim/fail-poll). A simulator that refuses a fault is counted as not
// injecting it, with a one-line notice.
import { seededRandom } from "../../test/sim/shared/fault-draw.ts";

export { seededRandom };

/** Probability per send request of each fault. */
export type SendFaultRates = Record<string, number>;

/** 5% resets, 5% 5xx, 1% stalls (issue 8 §7), each split evenly between before and after delivery. */
export function sendFaultPlan(opts: { stalls: boolean }): SendFaultRates {
  return {
    reset: 0.025,
    "reset-after": 0.025,
    "500": 0.025,
    "500-after": 0.025,
    ...(opts.stalls ? { stall: 0.005, "stall-after": 0.005 } : {}),
  };
}

export interface FaultCounts {
  injected: number;
  afterDelivery: number;
  /** Faults a simulator refused (unknown name, no control API). */
  refused: number;
  byName: Record<string, number>;
}

interface Control {
  url: string;
  headers: Record<string, string>;
}

export class FaultInjector {
  readonly counts = new Map<string, FaultCounts>();
  readonly #controls: Record<string, Control>;
  readonly #notice: (line: string) => void;
  readonly #noticed = new Set<string>();

  /** `controls`: per network, the simulator's base URL (its /_sim/ API lives there) and the headers it asks for. */
  constructor(opts: { controls: Record<string, Control>; notice: (line: string) => void }) {
    this.#controls = opts.controls;
    this.#notice = opts.notice;
    for (const net of Object.keys(opts.controls)) this.counts.set(net, { injected: 0, afterDelivery: 0, refused: 0, byName: {} });
  }

  /** Every simulator draws send faults at these rates from now on (seeded per network). */
  async drawSendFaults(rates: SendFaultRates, seed: number): Promise<void> {
    await Promise.all(
      Object.keys(this.#controls).map(async (network, i) => {
        const res = await this.#post(network, "fault-rates", { send: rates, seed: seed * 16 + i });
        if (!res.ok) this.#refused(network, "fault-rates", JSON.stringify(rates), res);
      }),
    );
  }

  /** A poll fault (e.g. a lost session) with the simulator's own name for it. */
  async pollFault(network: string, name: string): Promise<void> {
    const c = this.counts.get(network)!;
    const res = await this.#post(network, "fail-poll", { fault: name, count: 1 });
    if (!res.ok) return this.#refused(network, "fail-poll", name, res);
    c.injected++;
    c.byName[`poll:${name}`] = (c.byName[`poll:${name}`] ?? 0) + 1;
  }

  /** Adds what each simulator's draw injected to the counts (once, at the end of the run). */
  async collect(): Promise<void> {
    await Promise.all(
      Object.keys(this.#controls).map(async (network) => {
        const c = this.counts.get(network)!;
        const control = this.#controls[network]!;
        const res = await fetch(`${control.url}/_sim/fault-counts`, { headers: control.headers }).catch(() => undefined);
        if (!res?.ok) return;
        const drawn = (await res.json()) as { injected: number; after_delivery: number; by_name: Record<string, number> };
        c.injected += drawn.injected;
        c.afterDelivery += drawn.after_delivery;
        for (const [k, v] of Object.entries(drawn.by_name)) c.byName[k] = (c.byName[k] ?? 0) + v;
      }),
    );
  }

  #post(network: string, path: string, body: unknown): Promise<{ ok: boolean; status: number; text(): Promise<string> }> {
    const control = this.#controls[network]!;
    return fetch(`${control.url}/_sim/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...control.headers },
      body: JSON.stringify(body),
    }).catch((err: unknown) => ({ ok: false, status: 0, text: async () => String(err) }));
  }

  async #refused(network: string, kind: string, fault: string, res: { status: number; text(): Promise<string> }): Promise<void> {
    this.counts.get(network)!.refused++;
    const key = `${network} ${kind} ${fault}`;
    if (this.#noticed.has(key)) return;
    this.#noticed.add(key);
    this.#notice(`notice: ${network} simulator refused ${kind} ${fault} (${res.status} ${(await res.text()).slice(0, 80).trim()}); counted as not injected`);
  }
}
