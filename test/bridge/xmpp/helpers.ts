// Shared pieces of the MucClient tests: a bridge client against a test Prosody, waiting for
// room states, and a pino logger that writes into a string (to check what logs contain).
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { MucClient, type RoomMessage, type RoomState, type XmppOptions } from "../../../bridge/xmpp/index.ts";
import type { ProsodyServer } from "../../helpers/prosody.ts";

export interface CapturedLog {
  logger: Logger;
  text: () => string;
  /** Resolves once `pattern` has matched `count` times in the log (checked on every write). */
  waitFor(pattern: RegExp, count?: number): Promise<void>;
}

export function captureLogger(level = "debug"): CapturedLog {
  let out = "";
  const waiters = new Set<() => boolean>();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      for (const w of waiters) if (w()) waiters.delete(w);
      cb();
    },
  });
  const matches = (pattern: RegExp) => out.match(new RegExp(pattern.source, "g"))?.length ?? 0;
  return {
    logger: pino({ level }, sink),
    text: () => out,
    waitFor: (pattern, count = 1) =>
      new Promise<void>((resolve) => {
        const w = () => matches(pattern) >= count && (resolve(), true);
        if (!w()) waiters.add(w);
      }),
  };
}

/** A bridge client with test timings: PLAIN, fast backoff, fast self-ping off unless asked. */
export function bridgeClient(server: ProsodyServer, opts: Partial<XmppOptions> & { logger?: Logger } = {}): MucClient {
  return new MucClient({
    jid: "bridge@localhost",
    password: "bridgepw",
    service: server.service,
    nick: "bridge",
    saslMechanism: "PLAIN",
    reconnect: { min: 20, max: 200 },
    selfPingInterval: 3_600_000,
    logger: opts.logger ?? pino({ level: "silent" }),
    ...opts,
  });
}

/** Resolves with the first room state (from now on) that matches. */
export function roomState(client: MucClient, match: (s: RoomState) => boolean): Promise<RoomState> {
  return new Promise((resolve) => {
    const on = (s: RoomState) => {
      if (!match(s)) return;
      client.off("room", on);
      resolve(s);
    };
    client.on("room", on);
  });
}

export const joinedState = (client: MucClient, room: string) => roomState(client, (s) => s.room === room && s.state === "joined");

/** Joins and waits for "joined". */
export async function joinRoom(client: MucClient, room: string, opts?: Parameters<MucClient["join"]>[1]): Promise<RoomState> {
  const joined = joinedState(client, room);
  client.join(room, opts);
  return joined;
}

/** Resolves with the first message (from now on) that matches. */
export function nextMessage(client: MucClient, match: (m: RoomMessage) => boolean): Promise<RoomMessage> {
  return new Promise((resolve) => {
    const on = (m: RoomMessage) => {
      if (!match(m)) return;
      client.off("message", on);
      resolve(m);
    };
    client.on("message", on);
  });
}
