// The ids of the events taken lately. get_latest_events hands an event out once; a server that
// hands the same events out again and again (a buggy or hostile implementation) would make the
// poller spin, so an answer of nothing but repeats counts as an unusable answer (backed off).
// Repeats are still delivered: the relay dedupes by message id, and an implementation that
// reuses event ids must lose nothing.

/** How many event ids are remembered. */
const MAX_REMEMBERED = 2_000;

export class RecentEvents {
  readonly #ids = new Set<string>();

  /** Remembers the event's id; true when it is new (or has no id to compare). */
  fresh(event: unknown): boolean {
    const id = typeof event === "object" && event !== null ? (event as { id?: unknown }).id : undefined;
    if (typeof id !== "string" || id === "") return true;
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > MAX_REMEMBERED) this.#ids.delete(this.#ids.values().next().value!);
    return true;
  }
}
