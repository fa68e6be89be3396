// Is an address this machine's loopback? A connection to it never leaves the host, so it cannot be
// sniffed without root here: the one place XMPP may run without TLS (and a listener without auth).
// Decided on the address as configured, never on what a name resolves to: a name that resolves to
// 127.0.0.1 today may resolve elsewhere tomorrow.
import { BlockList, isIPv4, isIPv6 } from "node:net";

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** "localhost", 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z); brackets around IPv6 are allowed. */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.endsWith(".")) h = h.slice(0, -1);
  if (h === "localhost") return true;
  if (isIPv4(h)) return LOOPBACK.check(h, "ipv4");
  if (isIPv6(h)) return LOOPBACK.check(h, "ipv6");
  return false;
}

/** The host an XMPP service URL (xmpp://, xmpps://, ws://, wss://) dials, without brackets. */
export function serviceHost(service: string): string {
  const host = new URL(service).hostname;
  return host.startsWith("[") ? host.slice(1, -1) : host;
}
