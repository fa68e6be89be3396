// Our TLS behaviour as xmpp.js plugins, for one connection: its transports (xmpp://, xmpps://,
// ws(s)://) and its STARTTLS stream feature. Every connection gets its own classes carrying its own TLS
// options, so one connection's verify_tls: false never relaxes another, and nothing global
// (node:tls, xmpp.js prototypes) is touched.
//
// Seams used (xmpp.js has no option for per-connection TLS settings):
// - `entity.transports.push(Transport)`: how @xmpp/tcp and @xmpp/tls plug in; our transports are
//   subclasses of their transport classes that override `socketParameters` / `Socket`, the
//   overrides @xmpp/connection marks as such.
// - `streamFeatures.use("starttls", ...)`: how @xmpp/starttls plugs in; ours passes our TLS options
//   to the upgrade (theirs passes only the host). It ends like theirs, with `entity._attachSocket`
//   and `entity.restart()`: the one internal method we call, as xmpp.js's own plugin does; if it
//   changed, every STARTTLS test (tls.test.ts, tls-required.test.ts) would fail, not pass silently.
// - `entity.parser`: see closedStreamGuard.
import { once } from "node:events";
import ConnectionTCP from "@xmpp/tcp/lib/Connection.js";
import PlainSocket from "@xmpp/connection-tcp/Socket.js";
import ConnectionTLS from "@xmpp/tls/lib/Connection.js";
import TlsSocket from "@xmpp/tls/lib/Socket.js";
import ConnectionWebSocket from "@xmpp/websocket/lib/Connection.js";
import WebSocketSocket from "@xmpp/websocket/lib/Socket.js";
import { XmppAuthError } from "./auth-error.ts";
import { xml, type XmlElement } from "./xml.ts";

const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";

export interface TlsPolicy {
  /** The JID's domain: the name the certificate must carry, whatever address we dial (RFC 7590). */
  domain: string;
  /** The host we dial, for messages. */
  host: string;
  /** false only for a self-signed test server. */
  verify: boolean;
  /** off: never STARTTLS (a server that requires it is a final error). Otherwise STARTTLS when offered. */
  mode: "required" | "opportunistic" | "off";
}

/** What of the xmpp.js entity (a @xmpp/client-core Client) these plugins use. */
export interface TlsEntity {
  parser: unknown;
  socket: unknown;
  transports: unknown[];
  sendReceive(element: XmlElement): Promise<XmlElement>;
  restart(): Promise<unknown>;
  _attachSocket(socket: unknown): void;
}

export interface StreamFeatures {
  use(name: string, xmlns: string, handler: (ctx: { entity: unknown }, next: () => Promise<unknown>, feature: XmlElement) => Promise<unknown>): unknown;
}

type Constructor = new (...args: any[]) => { emit(event: string | symbol, ...args: any[]): boolean };

/**
 * xmpp.js 0.14 detaches its parser when the stream closes (a refused login, stop() racing a
 * disconnect) but keeps reading the socket: bytes still in flight then throw "Cannot read
 * properties of null (reading 'write')" from a socket event, an uncaught exception that ended the
 * process. Our sockets drop data while the entity has no parser (no open stream to parse it for).
 */
function closedStreamGuard<T extends Constructor>(Base: T, streamOpen: () => boolean): T {
  return class extends Base {
    override emit(event: string | symbol, ...args: any[]): boolean {
      if (event === "data" && !streamOpen()) return false;
      return super.emit(event, ...args);
    }
  };
}

/** Installs this connection's transports and STARTTLS feature on a @xmpp/client-core Client. */
export function useTls(entity: TlsEntity, streamFeatures: StreamFeatures, policy: TlsPolicy): void {
  const streamOpen = () => entity.parser != null;
  // servername: the name sent (SNI) and the name the certificate is checked against.
  const tlsOptions = { servername: policy.domain, ...(policy.verify ? {} : { rejectUnauthorized: false }) };
  const Plain = closedStreamGuard(PlainSocket as Constructor, streamOpen);
  const Secure = closedStreamGuard(TlsSocket as Constructor, streamOpen) as unknown as new () => {
    connect(options: object): void;
  } & NodeJS.EventEmitter;

  class Tcp extends ConnectionTCP {}
  Tcp.prototype.Socket = Plain;
  class DirectTls extends ConnectionTLS {
    override socketParameters(service: string) {
      const params = super.socketParameters(service);
      return params && { ...params, ...tlsOptions };
    }
  }
  DirectTls.prototype.Socket = Secure;
  // ws(s)://: xmpp.js dials with the global WebSocket, which takes no TLS options: wss:// is
  // always verified (verify_tls: false does not relax it), against the URL's host.
  class WebSocket extends ConnectionWebSocket {}
  WebSocket.prototype.Socket = closedStreamGuard(WebSocketSocket as Constructor, streamOpen);
  entity.transports.push(WebSocket, Tcp, DirectTls);

  // Registered before SASL: stream features are tried in the order they were added.
  streamFeatures.use("starttls", NS_TLS, async (_ctx, next, feature) => {
    if (policy.mode === "off") {
      if (feature.getChild("required")) {
        throw new XmppAuthError(`XMPP server ${policy.host} requires TLS, but xmpp.tls is off; not retrying (set xmpp.tls: required)`, "tls-required");
      }
      return next();
    }
    const plain = entity.socket;
    if (!(plain instanceof Plain)) return next(); // not a plain TCP socket: xmpps:// (already TLS) or ws(s)://
    const answer = await entity.sendReceive(xml("starttls", { xmlns: NS_TLS }));
    if (!answer.is("proceed", NS_TLS)) throw new Error(`XMPP server ${policy.host} refused STARTTLS (${answer.name})`);
    const secure = new Secure();
    const connected = once(secure, "connect"); // rejects on a TLS error (e.g. the certificate)
    secure.connect({ socket: plain, host: policy.domain, ...tlsOptions });
    await connected;
    entity._attachSocket(secure);
    await entity.restart();
  });
}
