// `pollbridge login NETWORK`: interactive login of one network, its session saved for `run`.
import type { Logger } from "pino";
import type { Config, WebqqNetworkConfig } from "../config/types.ts";
import { createWebqq } from "../networks/webqq/index.ts";
import { printQr } from "../networks/webqq/qr-terminal.ts";

/** Why `network` cannot be logged in with this config, or undefined. */
export function loginProblem(config: Config, network: string): string | undefined {
  const net = config.networks[network];
  const ids = Object.keys(config.networks).join(", ");
  if (!net) return `login: no network "${network}" in ${config.path} (networks: ${ids})`;
  if (net.type !== "webqq") return `login: network "${network}" is ${net.type}, which logs in with its configured token: nothing to do`;
  return undefined;
}

/** Logs `network` in, showing the QR code on `out`, and leaves its session in state_dir. */
export async function login(config: Config, network: string, opts: { logger: Logger; out: { write(s: string): unknown } }): Promise<void> {
  const net = config.networks[network] as WebqqNetworkConfig;
  const groups = config.bridges.flatMap((b) => b.links.filter((l) => l.network === network).map((l) => l.group));
  const adapter = createWebqq({
    id: network,
    stateDir: config.state_dir,
    endpoints: net.endpoints,
    logger: opts.logger,
    groups,
    sendInterval: net.send_interval,
    pollHold: net.poll_hold,
    onQr: (qr) => printQr(qr, opts.out),
    // Someone is at the terminal: an expired QR is replaced within seconds, not minutes.
    qrBackoff: { min: 1_000, max: 5_000 },
  });
  try {
    await adapter.login();
  } finally {
    await adapter.stop();
  }
}
