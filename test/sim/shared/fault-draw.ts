// Send faults drawn per request: each send that reaches a simulator's fault point fails with the
// configured probability of each fault (POST /_sim/fault-rates), so faults fall on requests as a
// flaky server's would, whatever pace the client sends at. Faults queued with /_sim/fail-send go
// first; a draw is made only when none is queued. Seeded, so a run can be repeated.

/** The send faults every simulator understands (TEAM contract): before the action ran, and after it (delivered). */
export const COMMON_SEND_FAULTS = ["reset", "500", "stall", "reset-after", "500-after", "stall-after"] as const;
export type CommonSendFault = (typeof COMMON_SEND_FAULTS)[number];

/** A small seeded PRNG (mulberry32): the same seed draws the same faults. */
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

export interface FaultDrawCounts {
  /** Send requests that reached the fault point while rates were set. */
  requests: number;
  injected: number;
  /** Faults whose action ran (the message was delivered, the answer lost). */
  after_delivery: number;
  by_name: Record<string, number>;
}

export class FaultDraw {
  #rates: [CommonSendFault, number][] = [];
  #random: () => number = Math.random;
  #counts: FaultDrawCounts = { requests: 0, injected: 0, after_delivery: 0, by_name: {} };

  /**
   * Sets the probability of each fault per send request (names from COMMON_SEND_FAULTS, each in
   * [0, 1], summing to at most 1); {} turns drawing off. Throws on anything else.
   */
  configure(rates: unknown, seed?: unknown): void {
    if (typeof rates !== "object" || rates === null || Array.isArray(rates)) throw new Error("rates must be an object of fault name → probability");
    const list: [CommonSendFault, number][] = [];
    for (const [name, p] of Object.entries(rates)) {
      if (!(COMMON_SEND_FAULTS as readonly string[]).includes(name)) throw new Error(`unknown send fault ${JSON.stringify(name)} (known: ${COMMON_SEND_FAULTS.join(", ")})`);
      if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new Error(`rate of ${name} must be a probability in [0, 1]`);
      list.push([name as CommonSendFault, p]);
    }
    if (list.reduce((s, [, p]) => s + p, 0) > 1) throw new Error("the rates add up to more than 1");
    if (seed !== undefined && !Number.isInteger(seed)) throw new Error("seed must be an integer");
    this.#rates = list;
    this.#random = seed === undefined ? Math.random : seededRandom(seed as number);
  }

  /** One send request reached the fault point: the fault it gets, or undefined. */
  draw(): CommonSendFault | undefined {
    if (this.#rates.length === 0) return undefined;
    this.#counts.requests++;
    let r = this.#random();
    for (const [name, p] of this.#rates) {
      if (r < p) {
        this.#counts.injected++;
        if (name.endsWith("-after")) this.#counts.after_delivery++;
        this.#counts.by_name[name] = (this.#counts.by_name[name] ?? 0) + 1;
        return name;
      }
      r -= p;
    }
    return undefined;
  }

  counts(): FaultDrawCounts {
    return { ...this.#counts, by_name: { ...this.#counts.by_name } };
  }
}
