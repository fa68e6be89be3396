// The one error that stops an XMPP connection for good (no retry): only a configuration change
// can fix it. Its own file so that the TLS plugins (tls-plugins.ts) and the connection share it.

/**
 * Logging in cannot succeed without a configuration change: the server refused our credentials
 * (`kind: "auth"`), or TLS stands in the way (`kind: "tls"`: the certificate did not verify, the
 * server offers no TLS while it is required, PLAIN refused on an unencrypted stream). Never retried.
 */
export class XmppAuthError extends Error {
  readonly kind: "auth" | "tls";
  constructor(message: string, kind: "auth" | "tls" = "auth") {
    super(message);
    this.name = "XmppAuthError";
    this.kind = kind;
  }
}
