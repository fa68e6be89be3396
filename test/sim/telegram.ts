// A strict Telegram Bot API server (getMe, getUpdates, sendMessage, sendPhoto/sendDocument,
// editMessageText/Caption, deleteMessage, getFile and file downloads, webhooks) on one loopback
// port, with fault injection and a control API (in-process, and over HTTP at /_sim/...).
// Standalone:  node test/sim/telegram.ts --port N [--token T]   (first stdout line: base URL;
// the second: the bot token, unless one was given)
import type { ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import { queueFault } from "./shared/control.ts";
import { startSimServer } from "./shared/server.ts";
import { serveStandalone } from "./shared/standalone.ts";
import { control } from "./telegram/control.ts";
import { route, type RouteContext } from "./telegram/routes.ts";
import { SimState, type PollFault, type PollRecord, type SendFault, type SentMessage, type SimChat, type SimStateOptions, type SimUser } from "./telegram/state.ts";

export type { PollFault, PollRecord, SendFault, SentMessage, SimChat, SimUser };
export { DEFAULT_CHATS } from "./telegram/state.ts";

export interface TelegramSimOptions extends SimStateOptions {
  port?: number;
}

export interface TelegramSim {
  /** Base URL: the adapter's `api`. */
  readonly url: string;
  readonly token: string;
  readonly state: SimState;
  /** Protocol rules the client broke (a correct client causes none). */
  readonly violations: string[];
  inject: SimState["inject"];
  injectUpdate: SimState["injectUpdate"];
  /** Someone edits a message (an edited_message update). */
  injectEdit: SimState["injectEdit"];
  /** Puts a file on the server (for a photo or document to inject); returns its ids. */
  addFile: SimState["addFile"];
  sent(group?: string): SentMessage[];
  waitForSent(group: string, n?: number, signal?: AbortSignal): Promise<SentMessage[]>;
  waitForConfirmed(updateId: number, signal?: AbortSignal): Promise<void>;
  waitForPolls(n: number, signal?: AbortSignal): Promise<PollRecord[]>;
  /** Resolves once no getUpdates is parked (e.g. after a client stopped). */
  waitForNoParkedPoll(signal?: AbortSignal): Promise<void>;
  failNextPoll(fault: PollFault, count?: number): void;
  failNextSend(fault: SendFault, count?: number): void;
  setWebhook(url: string): void;
  revokeToken(): void;
  close(): Promise<void>;
}

export async function startTelegramSim(opts: TelegramSimOptions = {}): Promise<TelegramSim> {
  const state = new SimState(opts);
  const ctx: RouteContext = { state, open: new Set<ServerResponse>(), parked: null };
  const server = await startSimServer({
    port: opts.port,
    handle: (req, res, url) => (url.pathname.startsWith("/_sim/") ? control(url, req, res, state) : route(req, res, url, ctx)),
    open: () => ctx.open,
  });

  return {
    url: server.url,
    get token() {
      return state.token;
    },
    state,
    violations: state.violations,
    inject: (m) => state.inject(m),
    injectUpdate: (u) => state.injectUpdate(u),
    injectEdit: (chat, messageId, text) => state.injectEdit(chat, messageId, text),
    addFile: (data, path) => state.addFile(data, path),
    sent: (group) => state.sentTo(group),
    waitForSent: (group, n, signal) => state.waitForSent(group, n, signal),
    waitForConfirmed: (id, signal) => state.waitForConfirmed(id, signal),
    waitForPolls: (n, signal) => state.waitForPolls(n, signal),
    waitForNoParkedPoll: (signal) => state.waitFor(() => (ctx.parked === null ? true : undefined), ["unparked"], signal).then(() => undefined),
    failNextPoll: (fault, count) => queueFault(state.pollFaults, fault, count),
    failNextSend: (fault, count) => queueFault(state.sendFaults, fault, count),
    setWebhook: (url) => {
      if (url !== "") ctx.parked?.abort("Conflict: terminated by setWebhook request");
      state.webhook = url;
    },
    revokeToken: () => void state.revokeToken(),
    close: () => server.close(),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "0" }, token: { type: "string" } } });
  const sim = await startTelegramSim({ port: Number(values.port), ...(values.token === undefined ? {} : { token: values.token }) });
  serveStandalone(sim, values.token === undefined ? [sim.token] : []);
}
