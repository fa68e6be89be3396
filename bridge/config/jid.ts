// Enough JID syntax (RFC 7622) to catch typos in a config; the server has the last word.

const LOCAL = /^[^\s"&'/:<>@]+$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[[0-9A-Fa-f:.]+\]$/;

/** Why `jid` is not "local@domain[/resource]" (or not bare when `bare`), or undefined when it is fine. */
export function jidProblem(jid: string, opts: { bare?: boolean } = {}): string | undefined {
  const slash = jid.indexOf("/");
  const bareJid = slash < 0 ? jid : jid.slice(0, slash);
  if (slash >= 0 && opts.bare) return `"${jid}" must not have a /resource`;
  if (slash >= 0 && slash === jid.length - 1) return `"${jid}" has an empty resource`;
  const at = bareJid.indexOf("@");
  if (at <= 0) return `"${jid}" is not a JID of the form name@domain`;
  const local = bareJid.slice(0, at);
  const domain = bareJid.slice(at + 1);
  if (!LOCAL.test(local)) return `"${jid}" has characters a JID's name part cannot hold`;
  if (!DOMAIN.test(domain) || domain.length > 253) return `"${jid}" has an invalid domain "${domain}"`;
  return undefined;
}
