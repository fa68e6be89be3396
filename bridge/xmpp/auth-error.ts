// The one error that stops an XMPP connection for good (no retry): only a configuration change
// can fix it. Its own file so that the TLS plugins (tls-plugins.ts) and the connection share it.

/**
 * Why logging in cannot succeed; it is also the reason every room shows as failed:
 * - `login-refused`: the server refused our credentials (or offers no mechanism we have);
 * - `certificate-rejected`: the server's TLS certificate did not verify;
 * - `tls-required`: the login needs TLS the stream does not have: the server offers no STARTTLS
 *   while xmpp.tls is required, PLAIN would cross an unencrypted stream, or the server requires
 *   TLS while xmpp.tls is off.
 */
export type XmppLoginFailure = "login-refused" | "certificate-rejected" | "tls-required";

/** Logging in cannot succeed without a configuration change. Never retried. */
export class XmppAuthError extends Error {
  readonly reason: XmppLoginFailure;
  constructor(message: string, reason: XmppLoginFailure = "login-refused") {
    super(message);
    this.name = "XmppAuthError";
    this.reason = reason;
  }

  /** `auth`: the account (credentials); `tls`: the transport's security stands in the way. */
  get kind(): "auth" | "tls" {
    return this.reason === "login-refused" ? "auth" : "tls";
  }
}
