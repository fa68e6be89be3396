// Shared pieces of the MucClient tests: a bridge client against a test Prosody, waiting for
// room states, a pino logger that writes into a string (to check what logs contain), and a TCP
// proxy that counts and cuts connections.
import { createConnection, createServer, type Socket } from "node:net";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { MucClient, type RoomMessage, type RoomState, type XmppEvents, type XmppOptions } from "../../../bridge/xmpp/index.ts";
import { after } from "node:test";
import { startProsody, type ProsodyServer } from "../../helpers/prosody.ts";
import { XmppUser } from "../../helpers/xmpp-user.ts";

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

/**
 * The test file's Prosody, with the users bridge (bridgepw, as bridgeClient logs in) and alice
 * (alicepw), and alice connected; both stopped after the file's tests. When `skip` says Prosody
 * is missing, nothing starts and the file's tests (all skipped) must not read them.
 */
export async function prosodyWithAlice(skip: string | false | undefined): Promise<{ server: ProsodyServer; alice: XmppUser }> {
  if (skip) return {} as { server: ProsodyServer; alice: XmppUser };
  const server = await startProsody({ users: { bridge: "bridgepw", alice: "alicepw" } });
  const alice = await XmppUser.connect(server, "alice", "alicepw");
  after(async () => {
    await alice.stop();
    await server.stop();
  });
  return { server, alice };
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

/** Resolves with the first event of that name (from now on) whose payload matches. */
function nextEvent<K extends "room" | "message">(client: MucClient, event: K, match: (v: XmppEvents[K][0]) => boolean): Promise<XmppEvents[K][0]> {
  return new Promise((resolve) => {
    const on = (v: XmppEvents[K][0]) => {
      if (!match(v)) return;
      client.off(event, on as never);
      resolve(v);
    };
    client.on(event, on as never);
  });
}

export const roomState = (client: MucClient, match: (s: RoomState) => boolean) => nextEvent(client, "room", match) as Promise<RoomState>;

export const nextMessage = (client: MucClient, match: (m: RoomMessage) => boolean) => nextEvent(client, "message", match) as Promise<RoomMessage>;

export const joinedState = (client: MucClient, room: string) => roomState(client, (s) => s.room === room && s.state === "joined");

/** Joins and waits for "joined". */
export async function joinRoom(client: MucClient, room: string, opts?: Parameters<MucClient["join"]>[1]): Promise<RoomState> {
  const joined = joinedState(client, room);
  client.join(room, opts);
  return joined;
}

/** A started bridge client, stopped after the test, in `room` (and `user` there first, if given). */
export async function startedBridge(
  t: { after(fn: () => unknown): void },
  server: ProsodyServer,
  room: string,
  opts: Parameters<typeof bridgeClient>[1] & { user?: XmppUser } = {},
): Promise<MucClient> {
  const { user, ...clientOpts } = opts;
  if (user) await user.join(room, "alice");
  const bridge = bridgeClient(server, clientOpts);
  t.after(() => bridge.stop());
  await bridge.start();
  await joinRoom(bridge, room);
  return bridge;
}

export interface TcpProxy {
  service: string;
  /** Connections accepted so far: a reconnect storm shows here. */
  readonly connections: number;
  /** Resolves once `count` connections have been accepted in all. */
  waitForConnections(count: number): Promise<void>;
  /** Drops every open connection, as a network failure would. */
  cut(): void;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy to the server's port whose connections a test can count and cut.
 * `cutEarly: n` drops each of the first n connections as soon as the client has written something
 * (its stream header), before the server could answer: a drop in the middle of opening the stream.
 */
export async function tcpProxy(port: number, opts: { cutEarly?: number } = {}): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const waiters = new Set<() => boolean>();
  let connections = 0;
  const proxy = createServer((client) => {
    connections++;
    for (const w of waiters) if (w()) waiters.delete(w);
    if (connections <= (opts.cutEarly ?? 0)) {
      client.on("error", () => undefined);
      client.once("data", () => client.destroy());
      return;
    }
    const upstream = createConnection(port, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
    }
    // Either side gone (e.g. the server is down): the other goes too, as with a direct connection.
    client.on("close", () => (sockets.delete(client), upstream.destroy()));
    upstream.on("close", () => (sockets.delete(upstream), client.destroy()));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port: proxyPort } = proxy.address() as { port: number };
  return {
    service: `xmpp://127.0.0.1:${proxyPort}`,
    get connections() {
      return connections;
    },
    waitForConnections: (count) =>
      new Promise<void>((resolve) => {
        const w = () => connections >= count && (resolve(), true);
        if (!w()) waiters.add(w);
      }),
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), proxy.close(() => resolve()))),
  };
}
