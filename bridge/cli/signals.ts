// SIGINT/SIGTERM for `run`: the first one aborts (stop accepting, drain, close), a second one
// exits at once for an operator who will not wait for the drain.

export interface SignalSource {
  on(event: "SIGINT" | "SIGTERM", fn: (signal: string) => void): unknown;
  off(event: "SIGINT" | "SIGTERM", fn: (signal: string) => void): unknown;
}

/** Listens until the returned dispose() is called; `controller` is aborted on the first signal. */
export function handleShutdownSignals(
  source: SignalSource,
  controller: AbortController,
  on: { first(signal: string): void; second(signal: string): void },
): () => void {
  const listener = (signal: string): void => {
    if (controller.signal.aborted) return on.second(signal);
    on.first(signal);
    controller.abort(new Error(`received ${signal}`));
  };
  source.on("SIGINT", listener);
  source.on("SIGTERM", listener);
  return () => {
    source.off("SIGINT", listener);
    source.off("SIGTERM", listener);
  };
}
