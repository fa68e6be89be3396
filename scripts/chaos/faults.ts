// Fault injection for the chaos run, through each simulator's control API (POST /_sim/fail-send,
// /_sim/fail-poll), with the send-fault names every simulator shares (see TEAM contract):
// before delivery (reset, 500, stall: the action does not run) and after it (reset-after,
// 500-after, stall-after: the message is delivered, the answer lost). A simulator that refuses a
// fault name (an older one) gets it counted as not injected, with a one-line notice.

export interface SendFaultSpec {
  name: string;
  /** Probability per message sent to the network. */
  rate: number;
  afterDelivery: boolean;
}

/** 5% resets, 5% 5xx, 1% stalls, each split evenly between before and after delivery. */
export function sendFaultPlan(opts: { stalls: boolean }): SendFaultSpec[] {
  const plan: SendFaultSpec[] = [
    { name: "reset", rate: 0.025, afterDelivery: false },
    { name: "reset-after", rate: 0.025, afterDelivery: true },
    { name: "500", rate: 0.025, afterDelivery: false },
    { name: "500-after", rate: 0.025, afterDelivery: true },
  ];
  if (opts.stalls) plan.push({ name: "stall", rate: 0.005, afterDelivery: false }, { name: "stall-after", rate: 0.005, afterDelivery: true });
  return plan;
}

/** A small seeded PRNG (mulberry32): a run can be repeated with --seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultCounts {
  injected: number;
  afterDelivery: number;
  /** Faults a simulator refused (unknown name, no control API). */
  refused: number;
  byName: Record<string, number>;
}

export class FaultInjector {
  readonly counts = new Map<string, FaultCounts>();
  readonly #controls: Record<string, { url: string; headers: Record<string, string> }>;
  readonly #plan: SendFaultSpec[];
  readonly #random: () => number;
  readonly #notice: (line: string) => void;
  readonly #noticed = new Set<string>();

  /** `controls`: per network, the simulator's base URL (its /_sim/ API lives there) and the headers it asks for. */
  constructor(opts: { controls: Record<string, { url: string; headers: Record<string, string> }>; plan: SendFaultSpec[]; random: () => number; notice: (line: string) => void }) {
    this.#controls = opts.controls;
    this.#plan = opts.plan;
    this.#random = opts.random;
    this.#notice = opts.notice;
    for (const net of Object.keys(opts.controls)) this.counts.set(net, { injected: 0, afterDelivery: 0, refused: 0, byName: {} });
  }

  /** Draws whether the next send to `network` fails, and how; injects it. */
  async maybeSendFault(network: string): Promise<void> {
    let r = this.#random();
    for (const f of this.#plan) {
      if (r < f.rate) return this.#inject(network, "fail-send", f.name, f.afterDelivery);
      r -= f.rate;
    }
  }

  /** A poll fault (e.g. a lost session) with the simulator's own name for it. */
  pollFault(network: string, name: string): Promise<void> {
    return this.#inject(network, "fail-poll", name, false);
  }

  async #inject(network: string, kind: "fail-send" | "fail-poll", fault: string, afterDelivery: boolean): Promise<void> {
    const c = this.counts.get(network)!;
    const control = this.#controls[network]!;
    const res = await fetch(`${control.url}/_sim/${kind}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...control.headers },
      body: JSON.stringify({ fault, count: 1 }),
    }).catch((err: unknown) => ({ ok: false, status: 0, text: async () => String(err) }));
    if (!res.ok) {
      c.refused++;
      const key = `${network} ${kind} ${fault}`;
      if (!this.#noticed.has(key)) {
        this.#noticed.add(key);
        this.#notice(`notice: ${network} simulator refused ${kind} "${fault}" (${res.status} ${(await res.text()).slice(0, 80).trim()}); counted as not injected`);
      }
      return;
    }
    c.injected++;
    if (afterDelivery) c.afterDelivery++;
    c.byName[`${kind === "fail-poll" ? "poll:" : ""}${fault}`] = (c.byName[`${kind === "fail-poll" ? "poll:" : ""}${fault}`] ?? 0) + 1;
  }
}
