// xmpp.tls and xmpp.verify_tls as the operator set them: a contradiction is a problem, and every
// setting that turns protection down is a warning from both `check` and `run` (also when the value
// came from the environment, e.g. verify_tls: ${VERIFY:-false}).
import type { Config } from "./types.ts";
import type { ConfigProblem } from "./problems.ts";
import { isLoopbackHost, serviceHost } from "./loopback.ts";

type Xmpp = Config["xmpp"];

function service(x: Xmpp): { url: string; host: string; encrypted: boolean } {
  const domain = x.jid.slice(x.jid.indexOf("@") + 1).split("/")[0]!;
  const url = x.service ?? `xmpp://${domain}:5222`;
  return { url, host: serviceHost(url), encrypted: /^(xmpps|wss):/.test(url) };
}

export function xmppTlsProblems(x: Xmpp): ConfigProblem[] {
  const s = service(x);
  if (x.tls === "off" && s.encrypted) return [{ path: "xmpp.tls", message: `off contradicts service ${s.url}, which is TLS from the first byte` }];
  if (x.tls === "required" && s.url.startsWith("ws:") && !isLoopbackHost(s.host)) {
    return [{ path: "xmpp.service", message: "ws:// is never encrypted and xmpp.tls is required: use wss:// (or set xmpp.tls: opportunistic, which logs in without TLS)" }];
  }
  return [];
}

export function xmppTlsWarnings(x: Xmpp): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (!x.verify_tls) {
    out.push({ path: "xmpp.verify_tls", message: "false: the server's certificate is not checked, so anyone on the path can pose as the server and read the password and the chat (use it only for a test server)" });
  }
  if (x.tls !== undefined && x.tls !== "required") {
    const s = service(x);
    const where = isLoopbackHost(s.host) ? " (harmless on this loopback service)" : "";
    const what = x.tls === "off" ? "TLS is never used" : "the bridge logs in without TLS when the server offers none";
    out.push({ path: "xmpp.tls", message: `${x.tls}: ${what}; the chat can then be read on the network${where}` });
  }
  return out;
}
