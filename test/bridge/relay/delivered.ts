// Waits until a relay's target has had `n` items delivered: a network's send answer is recorded
// (with its id, in the id map) a moment after the network saw the message, and a reply, edit or
// retraction that names it must come after that, as it does for a person who saw it.
import type { Relay } from "../../../bridge/relay/relay.ts";
import type { Outbox } from "../../../bridge/store/outbox.ts";

export function delivered(h: { relay: Relay; outbox: Outbox }, target: string, n: number): Promise<void> {
  const done = () => h.outbox.inState("delivered").filter((i) => i.target === target).length >= n;
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (!done()) return;
      h.relay.off("settled", check);
      resolve();
    };
    h.relay.on("settled", check);
  });
}
