// Lets the status page see each network's last inbound event without touching the network or the
// relay: the adapter is wrapped so that its sink reports every message once it is committed.
import type { NetworkAdapter } from "../network.ts";

export function tapInbound(net: NetworkAdapter, onMessage: (network: string) => void): NetworkAdapter {
  return new Proxy(net, {
    get(target, prop) {
      if (prop === "start") {
        return (sink: Parameters<NetworkAdapter["start"]>[0]) =>
          target.start(async (msg) => {
            await sink(msg);
            onMessage(target.id);
          });
      }
      // Methods run on the adapter itself (its private fields are not on the proxy).
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
