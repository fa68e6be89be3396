// One XMPP client connection that stays up, on the xmpp.js client we compose (xmpp-js.ts):
// SCRAM-preferred SASL, STARTTLS with certificate checks unless explicitly allowed off
// (tls-plugins.ts), stream management with resumption, and our own reconnect with full-jitter
// backoff (reconnect.ts). Auth, certificate and TLS failures are final: no retry, a clear error.
// TLS is required (xmpp.tls) unless the service is on loopback: a server that offers no STARTTLS
// is refused before any SASL byte is sent, and PLAIN never crosses an unencrypted stream that
// leaves the machine, whatever sasl_mechanism says.
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { XmppAuthError } from "./auth-error.ts";
import { Reconnect } from "./reconnect.ts";
import type { XmppOptions } from "./types.ts";
import { isLoopbackHost, serviceHost } from "../config/loopback.ts";
import { watchStreamManagement, xmppClient, type Authenticate, type XmlElement, type XmppJsClient } from "./xmpp-js.ts";

export { XmppAuthError } from "./auth-error.ts";

export interface ConnectionEvents {
  /** A fresh session: rooms and presence must be set up again. */
  online: [];
  /** The stream-management session survived a socket drop: rooms are still joined. */
  resumed: [];
  offline: [];
  /** Authentication (or another unrecoverable problem) stopped the connection for good. */
  fatal: [Error];
  stanza: [XmlElement];
}

const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;

export function parseBareJid(jid: string): { local: string; domain: string; resource?: string } {
  const match = /^([^@/\s]+)@([^@/\s]+)(?:\/(.+))?$/.exec(jid);
  if (!match) throw new Error(`xmpp.jid: "${jid}" is not a JID of the form user@domain[/resource]`);
  return { local: match[1]!, domain: match[2]!, ...(match[3] ? { resource: match[3] } : {}) };
}

export class XmppConnection extends EventEmitter<ConnectionEvents> {
  readonly bareJid: string;
  readonly #xmpp: XmppJsClient;
  readonly #log: Logger;
  readonly #reconnect: Reconnect;
  #stopping = false;
  #fatal: Error | undefined;
  #wasOnline = false;
  #lastError: Error | undefined;
  #starting: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** Counts socket losses, so that a session's late `online` work can tell it is stale. */
  #drops = 0;

  constructor(opts: XmppOptions, logger: Logger) {
    super();
    const { local, domain, resource } = parseBareJid(opts.jid);
    this.bareJid = `${local}@${domain}`;
    this.#log = logger.child({ jid: this.bareJid });
    const service = opts.service ?? `xmpp://${domain}:5222`;
    const password = opts.password;
    const forced = opts.saslMechanism;
    const tlsMode = opts.tls ?? "required";
    const host = serviceHost(service);
    // Loopback never leaves this machine: it may run without TLS (a local Prosody, the tests).
    const loopback = isLoopbackHost(host);

    // Called by xmpp.js when SASL starts, before any <auth> is sent: the last point to refuse.
    const credentials = async (authenticate: Authenticate, mechanisms: string[], _fast: unknown, entity: XmppJsClient) => {
      const secure = entity.isSecure();
      if (!secure && !loopback) {
        if (tlsMode === "required") {
          throw new XmppAuthError(
            `XMPP server ${host} offered no STARTTLS and xmpp.tls is required: not logging in over an unencrypted connection; not retrying (enable TLS on the server, use xmpps://, or set xmpp.tls: opportunistic)`,
            "tls-required",
          );
        }
        this.#log.warn({ service }, "logging in over an UNENCRYPTED connection (xmpp.tls is not required): the chat can be read on the network");
      }
      const mechanism = chooseMechanism(mechanisms, forced, secure || loopback);
      this.#log.debug({ mechanism, encrypted: secure }, "authenticating");
      await authenticate({ username: local, password }, mechanism);
    };
    // TLS (tls-plugins.ts): STARTTLS unless xmpp.tls is off; the certificate must name the JID's
    // domain, not the host we dial (RFC 7590), on STARTTLS and xmpps:// alike; verify_tls: false
    // relaxes this connection only.
    const tls = { host, mode: tlsMode, verify: opts.verifyTls !== false };
    this.#xmpp = xmppClient({ service, domain, username: local, ...(resource ? { resource } : {}), credentials, tls });
    const xmpp = this.#xmpp;

    const smSettled = watchStreamManagement(xmpp);
    xmpp.on("online", async () => {
      const drops = this.#drops;
      await smSettled(); // see watchStreamManagement: nothing may be sent before
      // Lost meanwhile (maybe already online again: that session announces itself).
      if (xmpp.status !== "online" || drops !== this.#drops) return;
      this.#reconnect.reset();
      this.#wasOnline = true;
      this.#log.info("online");
      this.#starting?.resolve();
      this.#starting = undefined;
      this.emit("online");
    });
    xmpp.streamManagement.on("resumed", () => {
      this.#reconnect.reset();
      this.#wasOnline = true;
      this.#log.info("stream resumed");
      this.emit("resumed");
    });
    xmpp.on("disconnect", () => {
      this.#drops++;
      if (this.#wasOnline) {
        this.#wasOnline = false;
        if (this.#stopping) this.#log.info("disconnected");
        else this.#log.warn("disconnected");
        this.emit("offline");
      }
    });
    xmpp.on("stanza", (stanza: XmlElement) => this.emit("stanza", stanza));
    xmpp.on("error", (err: Error & { code?: string; condition?: string }) => this.#onError(err));
    // After our disconnect listener: "offline" is told before the next attempt is scheduled.
    this.#reconnect = new Reconnect(xmpp, {
      backoff: opts.reconnect ?? { min: 1000, max: 60_000 },
      log: this.#log,
      mayRun: () => !this.#stopping && !this.#fatal,
      onAttemptError: (err) => {
        if (err !== this.#lastError) this.#onError(err); // socket errors were already seen as "error" events
      },
    });
  }

  get online(): boolean {
    return this.#xmpp.status === "online";
  }

  /** Resolves when first online; rejects on an auth, certificate or TLS failure (XmppAuthError), or on stop(). */
  start(): Promise<void> {
    if (this.#fatal) return Promise.reject(this.#fatal);
    const started = new Promise<void>((resolve, reject) => (this.#starting = { resolve, reject }));
    this.#stopping = false;
    this.#reconnect.connectNow();
    return started;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#reconnect.cancel();
    this.#starting?.reject(new Error("XMPP connection stopped before it was online"));
    this.#starting = undefined;
    if (this.#xmpp.status !== "offline") await this.#xmpp.stop().catch(() => undefined);
  }

  send(stanza: XmlElement): Promise<void> {
    return this.#xmpp.send(stanza);
  }

  request(stanza: XmlElement, timeout: number): Promise<XmlElement> {
    return this.#xmpp.iqCaller.request(stanza, timeout);
  }

  #onError(err: Error & { code?: string; condition?: string }): void {
    this.#lastError = err;
    if (this.#fatal || this.#stopping) return;
    // Both are as final on a reconnect as at start: retrying cannot fix them, only a config change.
    if (err instanceof XmppAuthError && err.kind === "tls") return this.#fail(err);
    if (err.name === "SASLError" || (err instanceof XmppAuthError && err.kind === "auth")) {
      const why = `XMPP authentication failed for ${this.bareJid}: ${err.condition ?? err.message}; not retrying (fix the password or account)`;
      return this.#fail(new XmppAuthError(why, "login-refused"));
    }
    if (err.code && CERT_ERROR.test(err.code)) {
      const why = `XMPP TLS certificate of the server rejected (${err.code}): ${err.message}; not retrying (set xmpp.verify_tls: false only for a self-signed test server)`;
      return this.#fail(new XmppAuthError(why, "certificate-rejected"));
    }
    this.#log.warn({ err: { message: err.message, code: err.code } }, "connection error");
  }

  #fail(err: Error): void {
    this.#fatal = err;
    this.#reconnect.cancel();
    this.#log.error(err.message);
    const starting = this.#starting;
    this.#starting = undefined;
    void this.#xmpp.stop().catch(() => undefined);
    if (starting) starting.reject(err);
    else this.emit("fatal", err);
  }
}

/**
 * SCRAM when offered; PLAIN only over a private stream (TLS, or loopback), also when forced by
 * xmpp.sasl_mechanism: PLAIN sends the password itself, readable by anyone on the path.
 */
export function chooseMechanism(offered: string[], forced: string | undefined, secure: boolean): string {
  if (forced) {
    if (forced.toUpperCase() === "PLAIN" && !secure) {
      throw new XmppAuthError("xmpp.sasl_mechanism PLAIN refused: it would send the password in clear over an unencrypted connection; not retrying (use TLS, or SCRAM)", "tls-required");
    }
    if (!offered.includes(forced)) throw new XmppAuthError(`SASL mechanism ${forced} is not offered (server offers ${offered.join(", ")})`);
    return forced;
  }
  const scram = offered.find((m) => m.startsWith("SCRAM-"));
  if (scram) return scram;
  if (offered.includes("PLAIN") && secure) return "PLAIN";
  const why = `no acceptable SASL mechanism (server offers ${offered.join(", ") || "none"}; PLAIN needs TLS)`;
  throw new XmppAuthError(why, offered.includes("PLAIN") ? "tls-required" : "login-refused");
}
