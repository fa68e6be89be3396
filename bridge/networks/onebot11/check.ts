// What `pollbridge check` says about a OneBot 11 network beyond the schema: settings the
// implementation needs that pollbridge cannot see from here (the run checks them live).
import type { Onebot11NetworkConfig } from "../../config/types.ts";

export interface Onebot11Warning {
  path: string;
  message: string;
}

/**
 * The transport names the implementation for SSE (NapCat, LLBot) and long-poll (go-cqhttp
 * only), and each of them reports the bot's own sends only when told to (protocols.md §2.7.2):
 * without them a send whose answer was lost is settled by history, or resent.
 */
export function onebot11Warnings(id: string, n: Onebot11NetworkConfig): Onebot11Warning[] {
  const path = `networks.${id}`;
  if (n.events === "sse") {
    return [{ path, message: "events: sse is NapCat or LLBot: turn on reportSelfMessage for the SSE server, so our own sends come back and confirm deliveries (off by default)" }];
  }
  if (n.events === "long-poll") {
    return [{ path, message: "events: long-poll is go-cqhttp: set message.report-self-message: true in its config.yml, so our own sends come back and confirm deliveries (off by default)" }];
  }
  return [];
}
