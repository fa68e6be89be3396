// Where the SmartQQ calls go and the headers the web client sent with them (protocols.md §1.1).

export const CLIENT_ID = 53999199;
export const APPID = "501004106";

export interface EndpointBases {
  ptlogin: string; // ssl.ptlogin2.qq.com: ptqrshow, ptqrlogin
  ui: string; // ui.ptlogin2.qq.com: the login page (Referer of the QR calls)
  s: string; // s.web2.qq.com: /api/...
  d1: string; // d1.web2.qq.com: /channel/...
}

export const DEFAULT_BASES: EndpointBases = {
  ptlogin: "https://ssl.ptlogin2.qq.com",
  ui: "https://ui.ptlogin2.qq.com",
  s: "https://s.web2.qq.com",
  d1: "https://d1.web2.qq.com",
};

/** A desktop browser's User-Agent: the servers checked it. */
export const USER_AGENT =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36";

export interface Endpoints {
  bases: EndpointBases;
  url(host: keyof EndpointBases, path: string): string;
  /** The login page URL, the Referer of ptqrshow/ptqrlogin. */
  loginPage: string;
  /** Referer (+ Origin for POSTs) of the d1 and s calls, derived from the configured bases. */
  headers(host: "s" | "d1", post: boolean): Record<string, string>;
}

export function endpoints(overrides: Partial<EndpointBases> = {}): Endpoints {
  const bases: EndpointBases = { ...DEFAULT_BASES };
  for (const key of Object.keys(bases) as (keyof EndpointBases)[]) {
    const v = overrides[key];
    if (v === undefined) continue;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new Error(`webqq endpoint ${key}: not a URL: ${v}`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`webqq endpoint ${key}: not http(s): ${v}`);
    bases[key] = v.replace(/\/+$/, "");
  }
  const url = (host: keyof EndpointBases, path: string) => bases[host] + path;
  const referer = {
    d1: url("d1", "/proxy.html?v=20151105001&callback=1&id=2"),
    s: url("s", "/proxy.html?v=20130916001&callback=1&id=1"),
  };
  return {
    bases,
    url,
    loginPage: url(
      "ui",
      "/cgi-bin/login?daid=164&target=self&style=16&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1" +
        "&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001",
    ),
    headers(host, post) {
      const h: Record<string, string> = { referer: referer[host] };
      if (post) h.origin = new URL(bases[host]).origin;
      return h;
    },
  };
}
