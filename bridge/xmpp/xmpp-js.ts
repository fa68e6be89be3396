// The xmpp.js client the bridge uses, composed from @xmpp/client-core and the plugins we need, in
// the order @xmpp/client's own index.js sets them up. What differs from @xmpp/client, and why:
// - no @xmpp/reconnect: it retries every second forever; reconnect.ts reconnects with backoff
//   by calling the entity's public connect() and open(), as @xmpp/reconnect itself does;
// - no @xmpp/tcp, @xmpp/tls, @xmpp/websocket, @xmpp/starttls plugins: our own per-connection
//   transports (subclasses of theirs) and STARTTLS feature (tls-plugins.ts) carry each
//   connection's TLS options, with no global patch;
// - no SASL2/FAST/bind2, ANONYMOUS, DNS SRV resolve: the bridge logs in with SASL (SCRAM-SHA-1,
//   PLAIN) to the service URL it is given (config requires a URL: xmpp://, xmpps://, ws(s)://).
// Nothing of xmpp.js is patched or replaced: only its plugin seams are used (see tls-plugins.ts).
import { Client, jid as createJid } from "@xmpp/client-core";
import middlewarePlugin from "@xmpp/middleware";
import streamFeaturesPlugin from "@xmpp/stream-features";
import iqCallerPlugin from "@xmpp/iq/caller.js";
import iqCalleePlugin from "@xmpp/iq/callee.js";
import saslPlugin from "@xmpp/sasl";
import resourceBindingPlugin from "@xmpp/resource-binding";
import streamManagementPlugin from "@xmpp/stream-management";
import SASLFactory from "saslmechanisms";
import scramSha1 from "@xmpp/sasl-scram-sha-1";
import plain from "@xmpp/sasl-plain";
import { useTls, type StreamFeatures, type TlsEntity, type TlsPolicy } from "./tls-plugins.ts";
import type { XmlElement } from "./xml.ts";

export { xml, type XmlElement } from "./xml.ts";
export type { TlsPolicy } from "./tls-plugins.ts";

export type XmppStatus =
  | "offline" | "connecting" | "connect" | "opening" | "open" | "online"
  | "closing" | "close" | "disconnecting" | "disconnect";

type Listener = (...args: any[]) => void;

interface Emitter {
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  prependListener(event: string, listener: Listener): unknown;
}

export type Authenticate = (credentials: { username: string; password: string }, mechanism: string) => Promise<void>;

export interface XmppClientOptions {
  service: string;
  domain: string;
  /** The account's local part: the stream header names us once TLS protects it (RFC 6120 §4.7.1). */
  username?: string;
  resource?: string;
  /** Called when SASL starts, before any <auth> is sent: picks the mechanism and authenticates. */
  credentials: (authenticate: Authenticate, mechanisms: string[], fast: null, entity: XmppJsClient) => Promise<void>;
  /** Default: STARTTLS when offered, certificate checked against `domain`. */
  tls?: Partial<TlsPolicy>;
  timeout?: number;
}

export interface XmppJsClient extends Emitter {
  status: XmppStatus;
  jid: { toString(): string; bare(): { toString(): string } } | null;
  options: { service: string; domain: string; lang?: string };
  socket: object | null;
  isSecure(): boolean;
  start(): Promise<unknown>;
  stop(): Promise<unknown>;
  disconnect(): Promise<unknown>;
  send(stanza: XmlElement): Promise<void>;
  /** Socket connect, then stream open: what start() does, without its wait for `online`. */
  connect(service: string): Promise<unknown>;
  open(opts: { domain: string; lang?: string }): Promise<unknown>;
  iqCaller: { request(stanza: XmlElement, timeout?: number): Promise<XmlElement> };
  streamManagement: Emitter & { enabled: boolean; id: string; timeout: number; requestAckInterval: number };
}

/** xmpp.js plugins are typed (by @types/xmpp__*) for an older API: call them untyped. */
const plugin = <T>(setup: unknown) => setup as (...args: any[]) => T;

export function xmppClient(options: XmppClientOptions): XmppJsClient {
  const { service, domain, username, resource, credentials, timeout } = options;
  const entity = new Client({ service, domain, ...(timeout ? { timeout } : {}) }) as unknown as XmppJsClient & TlsEntity;
  if (username) entity.jid = createJid(username, domain) as XmppJsClient["jid"];

  const middleware = plugin<object>(middlewarePlugin)({ entity });
  const streamFeatures = plugin<StreamFeatures>(streamFeaturesPlugin)({ middleware });
  const iqCaller = plugin<XmppJsClient["iqCaller"]>(iqCallerPlugin)({ middleware, entity });
  const iqCallee = plugin<{ get(ns: string, name: string, handler: () => object): void }>(iqCalleePlugin)({ middleware, entity });
  iqCallee.get("urn:xmpp:ping", "ping", () => ({}));

  // Stream features are tried in the order they are added: TLS, SASL, stream management, bind.
  useTls(entity, streamFeatures, {
    domain,
    host: options.tls?.host ?? domain,
    verify: options.tls?.verify ?? true,
    mode: options.tls?.mode ?? "opportunistic",
  });
  const saslFactory = new SASLFactory();
  scramSha1(saslFactory); // first: the preferred mechanism
  plain(saslFactory);
  plugin<void>(saslPlugin)({ streamFeatures, saslFactory }, credentials);
  const streamManagement = plugin<XmppJsClient["streamManagement"]>(streamManagementPlugin)({ streamFeatures, entity, middleware });
  plugin<void>(resourceBindingPlugin)({ iqCaller, streamFeatures }, resource);

  return Object.assign(entity, { iqCaller, streamManagement });
}

const NS_STREAMS = "http://etherx.jabber.org/streams";
const NS_SM = "urn:xmpp:sm:3";

/**
 * xmpp.js 0.14 emits `online` at resource binding, before it sends <enable/> for stream
 * management, and zeroes its inbound counter only when the <enabled/> answer's promise settles.
 * A stanza that arrives in the same read as <enabled/> is counted and then forgotten, so the
 * client acks too low and Prosody closes the stream ("The client says it handled -1 new
 * stanzas"). Seen in about one test run in three. So nothing may be sent after `online` until
 * stream management is settled: this returns a function that, called on `online`, resolves once
 * <enabled/> or <failed/> has been handled (or at once when the server offers no SM).
 */
export function watchStreamManagement(xmpp: XmppJsClient, fallbackMs = 5000): () => Promise<void> {
  let offered = false;
  let waiting: (() => void)[] | undefined;
  const settle = () => {
    const list = waiting ?? [];
    waiting = undefined;
    for (const resolve of list) resolve();
  };
  xmpp.on("element", (el: XmlElement) => {
    if (el.is("features", NS_STREAMS)) offered = !!el.getChild("sm", NS_SM);
    // setImmediate: after the microtasks in which xmpp.js handles the answer.
    else if (waiting && (el.is("enabled", NS_SM) || el.is("failed", NS_SM))) setImmediate(settle);
  });
  xmpp.on("disconnect", settle);
  return () => {
    if (!offered) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(settle, fallbackMs);
      (waiting ??= []).push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  };
}
