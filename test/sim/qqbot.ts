// A strict QQ bot Open Platform (the botpy SDK's API) on loopback: the token endpoint and the
// OpenAPI on one HTTP port, the gateway WebSocket on another, and webhook pushes to the bot,
// with fault injection and a control API (in-process, and over HTTP at /_sim/...).
// Standalone:  node test/sim/qqbot.ts --port N [--app-id ID] [--secret S] [--heartbeat MS]
// (first stdout line: base URL; then the app id and the secret)
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import { answerControl, queueFault } from "./shared/control.ts";
import { readJsonObject } from "./shared/http.ts";
import { startSimServer } from "./shared/server.ts";
import { serveStandalone } from "./shared/standalone.ts";
import { startGateway, type SimGateway } from "./qqbot/gateway.ts";
import { escapeGuild, route, type RouteContext } from "./qqbot/routes.ts";
import { INTENTS, QqbotSimState, type QqbotSimStateOptions, type SendFault, type SentMessage, type SimMember } from "./qqbot/state.ts";
import { signHex, startWebhookPusher, type SimWebhook } from "./qqbot/webhook.ts";

export { DEFAULT_CHANNELS, DEFAULT_GROUPS, INTENTS, REPLY_WINDOW_MS } from "./qqbot/state.ts";
export { signHex, signingKey } from "./qqbot/webhook.ts";
export type { SendFault, SentMessage, SimMember };

/** What a simulated message carries besides text: a quoted message, attachments, @-mentions (guild). */
export interface RichSay {
  replyTo?: string;
  attachments?: { content_type: string; filename?: string; url: string; size?: number; width?: number; height?: number }[];
  mentions?: SimMember[];
}

export interface QqbotSimOptions extends QqbotSimStateOptions {
  port?: number;
  /** Events pushed to the webhook (the console's subscription); default: what a private bot gets. */
  webhookIntents?: number;
}

export interface QqbotSim {
  /** The OpenAPI base URL (the adapter's `api`). */
  readonly url: string;
  /** The adapter's `token_url`. */
  readonly tokenUrl: string;
  readonly appId: string;
  readonly secret: string;
  readonly state: QqbotSimState;
  readonly gateway: SimGateway;
  readonly webhook: SimWebhook;
  readonly violations: string[];
  /** Someone writes in a guild text channel; `at` true @-mentions the bot. Returns the message id. */
  sayInChannel(channelId: string, author: SimMember, text: string, o?: { at?: boolean } & RichSay): string;
  /** Someone @-mentions the bot in a group (the only group messages a bot gets). Returns the message id. */
  sayInGroup(openid: string, memberOpenid: string, text: string, o?: { username?: string } & RichSay): string;
  /** A member (or an admin: `by`) deletes a channel message: MESSAGE_DELETE (GUILD_MESSAGES) and PUBLIC_MESSAGE_DELETE. */
  deleteInChannel(channelId: string, messageId: string, by: SimMember): void;
  sent(group?: string): SentMessage[];
  waitForSent(group: string, n?: number, signal?: AbortSignal): Promise<SentMessage[]>;
  failNextSend(fault: SendFault, count?: number): void;
  close(): Promise<void>;
}

export async function startQqbotSim(opts: QqbotSimOptions = {}): Promise<QqbotSim> {
  const state = new QqbotSimState(opts);
  const gateway = await startGateway(state);
  const webhookIntents = opts.webhookIntents ?? ((state.privateBot ? INTENTS.GUILD_MESSAGES : INTENTS.PUBLIC_GUILD_MESSAGES) | INTENTS.GROUP_AND_C2C_EVENT);
  const webhook = startWebhookPusher(state, { intents: webhookIntents });
  const ctx: RouteContext = { state, open: new Set<ServerResponse>(), gatewayUrl: gateway.url, online: () => gateway.connected(), webhookMode: () => webhook.url !== "" };
  const server = await startSimServer({
    port: opts.port,
    handle: (req, res, url) => (url.pathname.startsWith("/_sim/") ? control(url, req, res) : route(req, res, url, ctx)),
    open: () => ctx.open,
  });

  const rich = (o: RichSay): Record<string, unknown> => ({
    ...(o.replyTo === undefined ? {} : { message_reference: { message_id: o.replyTo } }),
    ...(o.attachments === undefined ? {} : { attachments: o.attachments }),
  });
  const stamp = (): string => new Date(state.now() + 8 * 3600_000).toISOString().replace("Z", "+08:00");

  const sim: QqbotSim = {
    url: server.url,
    tokenUrl: `${server.url}/app/getAppAccessToken`,
    appId: state.appId,
    secret: state.secret,
    state,
    gateway,
    webhook,
    violations: state.violations,
    sayInChannel(channelId, author, text, o = {}) {
      const channel = state.channel(channelId);
      if (!channel) throw new Error(`sim: no channel ${channelId}`);
      const id = state.newMessageId("channel");
      state.remember(id, `channel:${channelId}`);
      const content = (o.at ? `<@!${state.bot.id}> ` : "") + (o.mentions ?? []).map((m) => `<@!${m.id}> `).join("") + escapeGuild(text);
      const d = {
        id,
        channel_id: channelId,
        guild_id: channel.guildId,
        content,
        timestamp: stamp(),
        author: { id: author.id, username: author.username, avatar: "", bot: false },
        member: { nick: author.nick ?? "", roles: ["1"], joined_at: "2024-01-01T00:00:00+08:00" },
        seq: state.said.size,
        seq_in_channel: String(state.said.size),
        ...(o.at || o.mentions ? { mentions: [...(o.at ? [{ id: state.bot.id, username: state.bot.username, bot: true }] : []), ...(o.mentions ?? []).map((m) => ({ id: m.id, username: m.username, bot: false }))] } : {}),
        ...rich(o),
      };
      state.publish("MESSAGE_CREATE", d, INTENTS.GUILD_MESSAGES);
      if (o.at) state.publish("AT_MESSAGE_CREATE", d, INTENTS.PUBLIC_GUILD_MESSAGES);
      return id;
    },
    sayInGroup(openid, memberOpenid, text, o = {}) {
      if (!state.groups.includes(openid)) throw new Error(`sim: no group ${openid}`);
      const id = state.newMessageId("group");
      state.remember(id, `group:${openid}`);
      state.publish(
        "GROUP_AT_MESSAGE_CREATE",
        { id, content: ` ${text}`, timestamp: stamp(), group_id: openid, group_openid: openid, author: { id: memberOpenid, member_openid: memberOpenid, ...(o.username ? { username: o.username } : {}) }, ...rich(o) },
        INTENTS.GROUP_AND_C2C_EVENT,
      );
      return id;
    },
    deleteInChannel(channelId, messageId, by) {
      const channel = state.channel(channelId);
      if (!channel) throw new Error(`sim: no channel ${channelId}`);
      const d = { message: { id: messageId, channel_id: channelId, guild_id: channel.guildId, author: { id: "0", username: "author" } }, op_user: { id: by.id, username: by.username } };
      state.publish("MESSAGE_DELETE", d, INTENTS.GUILD_MESSAGES);
      state.publish("PUBLIC_MESSAGE_DELETE", d, INTENTS.PUBLIC_GUILD_MESSAGES);
    },
    sent: (group) => state.sentTo(group),
    waitForSent: (group, n, signal) => state.waitForSent(group, n, signal),
    failNextSend: (fault, count) => queueFault(state.sendFaults, fault, count),
    close: async () => {
      webhook.close();
      await gateway.close();
      await server.close();
    },
  };

  /**
   * POST /_sim/say-channel {channel, author:{id,username,nick?}, text, at?, replyTo?, attachments?, mentions?}   POST /_sim/say-group {group, member, text, username?, replyTo?, attachments?}
   * POST /_sim/delete-channel {channel, id, by:{id,username}}
   * POST /_sim/gateway {action: reconnect|invalid-session|drop|mute|silence}    POST /_sim/expire-token
   * POST /_sim/webhook {url} (then the op 13 validation: answers {ok})   POST /_sim/advance {ms}
   * GET /_sim/state; and the common ones (sent, wait-sent, fail-send {fault: reset|500|stall|reset-after|500-after|stall-after})
   */
  async function control(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    await answerControl(url, req, res, state, {
      "/_sim/say-channel": async (r: IncomingMessage) => {
        const b = await readJsonObject(r);
        return { id: sim.sayInChannel(String(b.channel), b.author as SimMember, String(b.text), { ...(b as RichSay), at: b.at === true }) };
      },
      "/_sim/say-group": async (r: IncomingMessage) => {
        const b = await readJsonObject(r);
        return { id: sim.sayInGroup(String(b.group), String(b.member), String(b.text), { ...(b as RichSay), ...(typeof b.username === "string" ? { username: b.username } : {}) }) };
      },
      "/_sim/delete-channel": async (r: IncomingMessage) => {
        const b = await readJsonObject(r);
        sim.deleteInChannel(String(b.channel), String(b.id), b.by as SimMember);
        return { deleted: String(b.id) };
      },
      "/_sim/gateway": async (r: IncomingMessage) => {
        const action = String((await readJsonObject(r)).action);
        const f = { reconnect: gateway.reconnect, "invalid-session": gateway.invalidSession, drop: gateway.drop, mute: gateway.mute, silence: () => gateway.silence() }[action];
        if (!f) throw new Error(`unknown gateway action ${action}`);
        f();
        return { done: action };
      },
      "/_sim/expire-token": () => {
        state.expireTokens();
        return { expired: true };
      },
      "/_sim/advance": async (r: IncomingMessage) => {
        state.advance(Number((await readJsonObject(r)).ms));
        return { clockOffset: state.clockOffset };
      },
      "/_sim/webhook": async (r: IncomingMessage) => {
        webhook.url = String((await readJsonObject(r)).url ?? "");
        return webhook.url === "" ? { ok: true } : await webhook.validate();
      },
      "/_sim/state": () => ({ counters: state.counters, gateway: gateway.stats(), sent: state.sent.length, violations: state.violations }),
    });
  }

  return sim;
}

/** Signs a webhook body as the platform does (for tests that post by hand). */
export function signedHeaders(secret: string, body: string, ts = String(Math.floor(Date.now() / 1000))): Record<string, string> {
  return { "content-type": "application/json", "x-signature-timestamp": ts, "x-signature-ed25519": signHex(secret, ts + body), "user-agent": "QQBot-Callback" };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "0" }, "app-id": { type: "string" }, secret: { type: "string" }, heartbeat: { type: "string" } } });
  const sim = await startQqbotSim({
    port: Number(values.port),
    ...(values["app-id"] === undefined ? {} : { appId: values["app-id"] }),
    ...(values.secret === undefined ? {} : { secret: values.secret }),
    ...(values.heartbeat === undefined ? {} : { heartbeatIntervalMs: Number(values.heartbeat) }),
  });
  serveStandalone(sim, [sim.appId, sim.secret]);
}
