// `pollbridge login NETWORK`: interactive login of one network, its session saved for `run`.

import type { Logger } from "pino";
import type { Config, WebqqNetworkConfig } from "../config/types.ts";
import type { NetworkAdapter } from "../network.ts";
import { decodeQrPng, renderQrTerminal } from "../networks/webqq/qr-terminal.ts";

export interface QrImage {
  png: Uint8Array;
  pngPath: string;
}

/** The WebQQ adapter factory (bridge/networks/webqq/index.ts), as login uses it. */
export type CreateWebqq = (opts: {
  id: string;
  stateDir: string;
  endpoints?: WebqqNetworkConfig["endpoints"];
  logger: Logger;
  groups: string[];
  sendInterval?: number;
  pollHold?: number;
  onQr?: (qr: QrImage) => void | Promise<void>;
}) => NetworkAdapter & { login(): Promise<void> };

/** Why `network` cannot be logged in with this config, or undefined. */
export function loginProblem(config: Config, network: string): string | undefined {
  const net = config.networks[network];
  const ids = Object.keys(config.networks).join(", ");
  if (!net) return `login: no network "${network}" in ${config.path} (networks: ${ids})`;
  if (net.type !== "webqq") return `login: network "${network}" is ${net.type}, which logs in with its configured token: nothing to do`;
  return undefined;
}

// Resolved at call time: the WebQQ adapter is another engineer's module, loaded only for login.
const WEBQQ_MODULE = "../networks/webqq/index.ts";

/** Logs `network` in (the adapter shows the QR code) and leaves its session in state_dir. */
/** Shows the login QR in the terminal (re-rendered from the server's PNG) and where the PNG is. */
export async function showQr(qr: QrImage, out: { write(s: string): unknown }): Promise<void> {
  let art: string;
  try {
    art = await renderQrTerminal(decodeQrPng(qr.png));
  } catch {
    art = "(the QR image could not be shown in the terminal: open the PNG)\n";
  }
  out.write(`Scan this QR code with the QQ mobile app (also saved as ${qr.pngPath}):\n${art}`);
}

export async function login(config: Config, network: string, opts: { logger: Logger; out: { write(s: string): unknown }; createWebqq?: CreateWebqq }): Promise<void> {
  const net = config.networks[network] as WebqqNetworkConfig;
  const create = opts.createWebqq ?? ((await import(WEBQQ_MODULE)) as { createWebqq: CreateWebqq }).createWebqq;
  const groups = config.bridges.flatMap((b) => b.links.filter((l) => l.network === network).map((l) => l.group));
  const adapter = create({
    id: network,
    stateDir: config.state_dir,
    endpoints: net.endpoints,
    logger: opts.logger.child({ network }),
    groups,
    sendInterval: net.send_interval,
    pollHold: net.poll_hold,
    onQr: (qr) => showQr(qr, opts.out),
  });
  try {
    await adapter.login();
  } finally {
    await adapter.stop();
  }
}
