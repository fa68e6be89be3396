// A thin typed face over xmpp.js (@xmpp/client 0.14). @types/xmpp__client lags the runtime
// (no streamManagement.on, unresolvable internal imports), so we type only what we use here.
import { client as createClient, xml as createXml } from "@xmpp/client";
import TlsSocket from "@xmpp/tls/lib/Socket.js";

export interface XmlElement {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (XmlElement | string)[];
  is(name: string, xmlns?: string): boolean;
  getChild(name: string, xmlns?: string): XmlElement | undefined;
  getChildren(name: string, xmlns?: string): XmlElement[];
  getChildElements(): XmlElement[];
  getChildText(name: string, xmlns?: string): string | null;
  text(): string;
  append(...children: (XmlElement | string)[]): XmlElement;
  toString(): string;
}

type XmlChild = XmlElement | string | undefined | null | false;

export const xml = createXml as unknown as (
  name: string,
  attrs?: Record<string, string | undefined> | null,
  ...children: (XmlChild | XmlChild[])[]
) => XmlElement;

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
  resource?: string;
  credentials: (authenticate: Authenticate, mechanisms: string[]) => Promise<void>;
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
  connect(service: string): Promise<unknown>;
  open(opts: { domain: string; lang?: string }): Promise<unknown>;
  socketParameters(service: string): Record<string, unknown> | undefined;
  reconnect: Emitter & { delay: number; start(): void; stop(): void; reconnect(): Promise<void> };
  iqCaller: { request(stanza: XmlElement, timeout?: number): Promise<XmlElement> };
  streamManagement: Emitter & { enabled: boolean; id: string; timeout: number; requestAckInterval: number };
}

export function xmppClient(options: XmppClientOptions): XmppJsClient {
  const client = createClient(options as never) as unknown as XmppJsClient & { _onData(data: Buffer): void; parser: unknown };
  // xmpp.js 0.14 detaches its parser when the stream closes (a failed login, stop() racing a
  // disconnect) but leaves the socket's data listener in place: bytes still in flight then throw
  // "Cannot read properties of null (reading 'write')" from a socket event, i.e. an uncaught
  // exception. Data for a stream that is closed is dropped instead. (Bound at first connect.)
  const onData = client._onData;
  client._onData = function (this: typeof client, data: Buffer) {
    if (this.parser) onData.call(this, data);
  };
  return client;
}

// xmpp.js's STARTTLS upgrade calls tls.connect({socket, host}) with no way to pass options, so a
// connection that explicitly allows a self-signed server marks its plain socket here and the
// upgrade adds rejectUnauthorized: false for that socket only.
const insecureSockets = new WeakSet<object>();
const tlsConnect = TlsSocket.prototype.connect as (this: unknown, opts: Record<string, unknown>) => void;
TlsSocket.prototype.connect = function (this: unknown, opts: Record<string, unknown>) {
  const plain = opts?.socket as object | undefined;
  if (plain && insecureSockets.has(plain)) opts = { ...opts, rejectUnauthorized: false };
  return tlsConnect.call(this, opts);
};

export function allowSelfSignedUpgrade(socket: object): void {
  insecureSockets.add(socket);
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
