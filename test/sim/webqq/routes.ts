// The SmartQQ wire protocol as the real servers spoke it (protocols.md §1), strict about what they
// checked: Referer/Origin/User-Agent, cookies, ptqrtoken, clientid, psessionid, the group hash and
// content-as-JSON-string with the font last. All hosts' paths are served on one origin.
import type { IncomingMessage, ServerResponse } from "node:http";
import QRCode from "qrcode";
import { groupListHash, hash33 } from "../../../bridge/networks/webqq/hash.ts";
import type { PollFault, SimElement, SimState } from "./state.ts";
import { readBody, stall } from "../shared/http.ts";

export const CLIENT_ID = 53999199;
export const APPID = "501004106";
const D1_REFERER = "/proxy.html?v=20151105001&callback=1&id=2";
const S_REFERER = "/proxy.html?v=20130916001&callback=1&id=1";

export interface RouteContext {
  state: SimState;
  baseUrl: () => string;
  holdMs: number;
  idleVariants: ("102" | "504" | "empty")[];
  /** Requests parked by a stall or a hold; ended on close. */
  parked: Set<ServerResponse>;
  /** Which idle variant the next idle answer uses. */
  idleTurn: number;
}

class Refusal extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(reason: string, status: number, body: unknown) {
    super(reason);
    this.status = status;
    this.body = body;
  }
}

/** A protocol violation: recorded, then answered the way the real server refused it. */
function refuse(reason: string, body: unknown = { retcode: 100001 }, status = 200): never {
  throw new Refusal(reason, status, body);
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

function sendJson(res: ServerResponse, body: unknown, status = 200, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json;charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, text: string, status = 200, type = "text/plain;charset=utf-8", headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A cookie the way tough-cookie accepts it on 127.0.0.1: no Domain attribute. */
function setCookie(name: string, value: string): string {
  return `${name}=${value}; Path=/`;
}

function requireBrowserHeaders(req: IncomingMessage, refererPath: string, post: boolean, ctx: RouteContext): void {
  const ua = req.headers["user-agent"] ?? "";
  if (!ua.startsWith("Mozilla/")) refuse(`${req.url}: User-Agent is not a browser's: "${ua}"`, { retcode: 100001 });
  const referer = req.headers.referer ?? "";
  if (!referer.includes(refererPath)) refuse(`${req.url}: Referer "${referer}" lacks ${refererPath}`, "forbidden", 403);
  if (post) {
    const origin = req.headers.origin ?? "";
    let expected: string;
    try {
      expected = new URL(referer).origin;
    } catch {
      expected = new URL(ctx.baseUrl()).origin;
    }
    if (origin !== expected) refuse(`${req.url}: Origin "${origin}" is not ${expected}`, "forbidden", 403);
  }
}

function requireQuery(url: URL, name: string, expected?: string): string {
  const v = url.searchParams.get(name);
  if (v === null) refuse(`${url.pathname}: query ${name} missing`);
  if (expected !== undefined && v !== expected) refuse(`${url.pathname}: query ${name}=${v}, expected ${expected}`);
  return v;
}

/** The `r` field of a form POST, parsed. */
async function readR(req: IncomingMessage, path: string): Promise<Record<string, unknown>> {
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) refuse(`${path}: content-type ${type} is not a form`);
  const form = new URLSearchParams(await readBody(req));
  const r = form.get("r");
  if (r === null) refuse(`${path}: form field r missing`);
  let data: unknown;
  try {
    data = JSON.parse(r);
  } catch {
    refuse(`${path}: r is not JSON`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) refuse(`${path}: r is not an object`);
  return data as Record<string, unknown>;
}

/** Cookies of the web login (check_sig) must be present and current. */
function requireWebLogin(req: IncomingMessage, ctx: RouteContext, path: string) {
  const web = ctx.state.web;
  const c = cookies(req);
  if (!web) return null; // expired: the caller answers with its "log in again" code
  if (c.get("p_skey") !== web.pskey) refuse(`${path}: p_skey cookie missing or stale`);
  return web;
}

/** The login2 session named by psessionid; 121 for an earlier one, a violation for a forged one. */
function requireSession(ctx: RouteContext, psessionid: unknown, path: string) {
  const s = ctx.state.session;
  if (s && psessionid === s.psessionid) return s;
  if (typeof psessionid === "string" && (ctx.state.oldSessions.has(psessionid) || s === null)) return null;
  refuse(`${path}: unknown psessionid`);
}

function requireClientId(v: unknown, path: string): void {
  if (String(v) !== String(CLIENT_ID)) refuse(`${path}: clientid ${String(v)} is not ${CLIENT_ID}`);
}

export async function route(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const url = new URL(req.url ?? "/", ctx.baseUrl());
  try {
    await dispatch(url, req, res, ctx);
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    ctx.state.violation(err.message);
    if (typeof err.body === "string") sendText(res, err.body, err.status);
    else sendJson(res, err.body, err.status);
  }
}

async function dispatch(url: URL, req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  const { state } = ctx;
  const base = ctx.baseUrl();
  switch (url.pathname) {
    case "/cgi-bin/login": // step 0: the login page (optional for clients)
      return sendText(res, `<html><script>var g_login_sig="${"x".repeat(8)}",g_pt_version="10184",g_mibao_css="m_webqq";</script></html>`, 200, "text/html");

    case "/ptqrshow": {
      requireQuery(url, "appid", APPID);
      const { qrsig, key } = state.newQr();
      const png = await QRCode.toBuffer(`${base}/_sim/scan?k=${key}`);
      res.writeHead(200, { "content-type": "image/png", "content-length": png.length, "set-cookie": [setCookie("qrsig", qrsig)] });
      res.end(png);
      return;
    }

    case "/ptqrlogin": {
      const referer = req.headers.referer ?? "";
      if (!referer.includes("/cgi-bin/login")) refuse(`ptqrlogin: Referer "${referer}" is not the login page`, "forbidden", 403);
      requireQuery(url, "aid", APPID);
      const qrsig = cookies(req).get("qrsig");
      if (qrsig === undefined || !state.qrs.has(qrsig)) refuse("ptqrlogin: qrsig cookie missing or unknown", "ptuiCB('10006','0','','0','参数错误', '')");
      const token = requireQuery(url, "ptqrtoken");
      if (token !== String(hash33(qrsig))) refuse("ptqrlogin: ptqrtoken is not hash33(qrsig)", "ptuiCB('10006','0','','0','参数错误', '')");
      const { code, sig } = state.qrPoll(qrsig);
      const js = (c: number, u: string, msg: string, nick = "") => `ptuiCB('${c}','0','${u}','0','${msg}', '${nick}')`;
      if (code === 66) return sendText(res, js(66, "", "二维码未失效。(3380616416)"));
      if (code === 67) return sendText(res, js(67, "", "二维码认证中。"));
      if (code === 65) return sendText(res, js(65, "", "二维码已失效。(4012918406)"));
      const checkSig = `${base}/check_sig?pttype=1&uin=${state.qq}&service=ptqrlogin&nodirect=0&ptsigx=${sig}` +
        `&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html%3Flogin2qq%3D1%26webqq_type%3D10&f_url=&ptlang=2052&ptredirect=100&aid=${APPID}&daid=164&j_later=0`;
      return sendText(res, js(0, checkSig, "登录成功！", "小萌姬"), 200, "text/plain;charset=utf-8", {
        "set-cookie": [setCookie("uin", `o0${state.qq}`), setCookie("superuin", `o0${state.qq}`)],
      });
    }

    case "/check_sig": {
      const web = state.checkSig(url.searchParams.get("ptsigx") ?? "");
      if (!web) refuse("check_sig: ptsigx unknown or used", "forbidden", 403);
      res.writeHead(302, {
        location: `${base}/proxy.html?login2qq=1&webqq_type=10`,
        "content-length": 0,
        "set-cookie": [
          setCookie("ptwebqq", web.ptwebqq),
          setCookie("p_skey", web.pskey),
          setCookie("pt4_token", "t"),
          setCookie("p_uin", `o0${state.qq}`),
          setCookie("skey", "@uqacxdTvl"),
          setCookie("uin", `o0${state.qq}`),
          setCookie("pt2gguin", `o0${state.qq}`),
        ],
      });
      res.end();
      return;
    }

    case "/proxy.html":
      return sendText(res, "<html>proxy</html>", 200, "text/html");

    case "/api/getvfwebqq": {
      requireBrowserHeaders(req, S_REFERER, false, ctx);
      requireClientId(url.searchParams.get("clientid"), url.pathname);
      const relinkFault = state.relinkFaults.shift();
      if (relinkFault !== undefined) {
        state.emit("fault", relinkFault);
        if (relinkFault === "reset") return void res.socket?.destroy();
        if (relinkFault === "500") return sendText(res, "<html>500 Internal Server Error</html>", 500, "text/html");
        return sendText(res, "<html><head><title>出错了</title></head><body>系统繁忙</body></html>", 200, "text/html");
      }
      const web = requireWebLogin(req, ctx, url.pathname);
      if (!web) return sendJson(res, { retcode: 100000 });
      if (requireQuery(url, "ptwebqq") !== web.ptwebqq) refuse("getvfwebqq: ptwebqq is not the current one");
      if (web.relinkRefused) return sendJson(res, { retcode: 100001 }); // the cookies no longer relink
      web.vfwebqq = `${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`;
      state.secrets.push(web.vfwebqq);
      return sendJson(res, { retcode: 0, result: { vfwebqq: web.vfwebqq } });
    }

    case "/channel/login2": {
      requireBrowserHeaders(req, D1_REFERER, true, ctx);
      const r = await readR(req, url.pathname);
      requireClientId(r.clientid, url.pathname);
      const web = requireWebLogin(req, ctx, url.pathname);
      if (!web) return sendJson(res, { retcode: 103 }); // missing login cookies
      if (r.ptwebqq !== web.ptwebqq) refuse("login2: ptwebqq is not the current one");
      if (r.status !== "online") refuse("login2: status is not online");
      if (web.relinkRefused) return sendJson(res, { retcode: 103 });
      const s = state.login2();
      return sendJson(res, {
        result: { cip: 23600812, f: 0, index: 1075, port: 47450, psessionid: s.psessionid, status: "online", uin: state.qq, user_state: 0, vfwebqq: "useless" },
        retcode: 0,
      });
    }

    case "/channel/get_online_buddies2": {
      requireBrowserHeaders(req, D1_REFERER, false, ctx);
      requireClientId(url.searchParams.get("clientid"), url.pathname);
      const s = requireSession(ctx, url.searchParams.get("psessionid"), url.pathname);
      if (!s) return sendJson(res, { retcode: 121, t: "0" });
      if (url.searchParams.get("vfwebqq") !== state.web?.vfwebqq) refuse("get_online_buddies2: vfwebqq is not the current one");
      state.counters.buddies++;
      s.warm = true;
      return sendJson(res, { retcode: 0, result: [{ client_type: 1, status: "online", uin: 3017767504 }] });
    }

    case "/channel/poll2":
      return poll2(req, res, ctx, url);

    case "/api/get_group_name_list_mask2": {
      requireBrowserHeaders(req, S_REFERER, true, ctx);
      const r = await readR(req, url.pathname);
      const web = requireWebLogin(req, ctx, url.pathname);
      if (!web || !state.session) return sendJson(res, { retcode: 100000 });
      if (r.vfwebqq !== web.vfwebqq) refuse("get_group_name_list_mask2: vfwebqq is not the current one");
      if (r.hash !== groupListHash(state.qq, web.ptwebqq)) refuse("get_group_name_list_mask2: hash is not hash(uin, ptwebqq)");
      state.counters.groupLists++;
      const fault = state.groupListFaults.shift();
      if (fault === "html") return sendText(res, "<html><head><title>出错了</title></head><body>系统繁忙</body></html>", 200, "text/html");
      if (fault !== undefined) return sendJson(res, { retcode: fault.retcode });
      const gnamelist = [...state.session.gids].map(([name, ids]) => ({ flag: 167864331, name, gid: ids.gid, code: ids.code }));
      return sendJson(res, { retcode: 0, result: { gmasklist: [], gnamelist, gmarklist: [] } });
    }

    case "/api/get_group_info_ext2": {
      requireBrowserHeaders(req, S_REFERER, false, ctx);
      if (!state.web || !state.session) return sendJson(res, { retcode: 100000 });
      if (url.searchParams.get("vfwebqq") !== state.web.vfwebqq) refuse("get_group_info_ext2: vfwebqq is not the current one");
      const code = Number(url.searchParams.get("gcode"));
      if (state.groupByGid(code) !== undefined) return sendJson(res, { retcode: 6 }); // a gid instead of the code
      const name = state.groupByCode(code);
      if (name === undefined) refuse(`get_group_info_ext2: unknown gcode ${code}`, { retcode: 6 });
      state.counters.groupInfos++;
      const members = state.groups.get(name)!;
      const minfo = members.map((m) => ({ uin: state.memberUin(name, m.name), nick: m.name, gender: "female", country: "", province: "", city: "" }));
      const cards = members.filter((m) => m.card !== undefined).map((m) => ({ muin: state.memberUin(name, m.name), card: m.card }));
      const ids = state.session.gids.get(name)!;
      return sendJson(res, {
        retcode: 0,
        result: {
          ginfo: { gid: ids.gid, code: ids.code, name, members: minfo.map((m) => ({ muin: m.uin, mflag: 0 })), owner: state.qq },
          minfo,
          ...(cards.length > 0 ? { cards } : {}),
          stats: [],
          vipinfo: [],
        },
      });
    }

    case "/channel/send_qun_msg2":
      return sendQunMsg(req, res, ctx, url);

    default:
      return sendText(res, "not found", 404);
  }
}

async function poll2(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, url: URL): Promise<void> {
  const { state } = ctx;
  requireBrowserHeaders(req, D1_REFERER, true, ctx);
  const r = await readR(req, url.pathname);
  requireClientId(r.clientid, url.pathname);
  if (r.key !== "") refuse(`poll2: key is ${JSON.stringify(r.key)}, expected ""`);
  state.counters.polls++;
  state.emit("poll");
  const web = requireWebLogin(req, ctx, url.pathname);
  if (!web) return sendJson(res, { retcode: 100000 });
  const s = requireSession(ctx, r.psessionid, url.pathname);
  if (!s) return sendJson(res, { retcode: 121, t: "0" });
  if (r.ptwebqq !== web.ptwebqq) refuse("poll2: ptwebqq is not the current one (116 ignored?)");
  const fault = state.pollFaults.shift();
  if (fault !== undefined) return pollFault(fault, res, ctx);
  if (!s.warm) return sendJson(res, { retcode: 103 }); // warm-up call skipped

  // Hold until a message is queued or the hold ends; answer every queued message at once.
  if (state.queue.length === 0) {
    const woke = await new Promise<boolean>((resolve) => {
      const onQueued = () => done(true);
      const timer = setTimeout(() => done(false), ctx.holdMs);
      const onClose = () => done(false);
      const done = (v: boolean) => {
        clearTimeout(timer);
        state.off("queued", onQueued);
        state.off("session-lost", onQueued);
        res.off("close", onClose);
        ctx.parked.delete(res);
        resolve(v);
      };
      ctx.parked.add(res);
      state.on("queued", onQueued);
      state.on("session-lost", onQueued); // the parked poll learns it at once
      res.on("close", onClose);
    });
    if (res.destroyed || res.writableEnded) return; // the client gave up: nothing taken from the queue
    if (state.session !== s) return sendJson(res, { retcode: 121, t: "0" });
    if (!woke) return idle(res, ctx);
  }
  const items = state.takePollItems();
  sendJson(res, { retcode: 0, result: items });
  state.emit("delivered", items.length);
}

function idle(res: ServerResponse, ctx: RouteContext): void {
  const v = ctx.idleVariants[ctx.idleTurn++ % ctx.idleVariants.length];
  if (v === "504") return sendText(res, "<html><body><h1>504 Gateway Time-out</h1></body></html>", 504, "text/html");
  if (v === "empty") return sendJson(res, { retcode: 0, result: [] });
  return sendJson(res, { retcode: 102, errmsg: "" });
}

function pollFault(fault: PollFault, res: ServerResponse, ctx: RouteContext): void {
  const { state } = ctx;
  state.emit("fault", fault);
  if (typeof fault === "object") return sendJson(res, "result" in fault ? { retcode: 0, result: fault.result } : { retcode: fault.retcode });
  switch (fault) {
    case "116":
      return sendJson(res, { retcode: 116, p: state.rotatePtwebqq() });
    case "121":
      state.dropSession();
      return sendJson(res, { retcode: 121, t: "0" });
    case "100000":
      state.dropWebLogin();
      return sendJson(res, { retcode: 100000 });
    case "103":
      state.session!.warm = false;
      return sendJson(res, { retcode: 103 });
    case "102":
      return sendJson(res, { retcode: 102, errmsg: "" });
    case "504":
      return sendText(res, "<html>504 Gateway Time-out</html>", 504, "text/html");
    case "500":
    case "503":
      return sendText(res, `<html>${fault} Server Error</html>`, Number(fault), "text/html");
    case "reset":
      res.socket?.destroy();
      return;
    case "stall":
      stall(res, ctx.parked);
      return;
    case "malformed":
      return sendText(res, '{"retcode":0,"result":[{"poll_type":"group_mes', 200, "application/json");
    case "html":
      return sendText(res, "<html><head><title>出错了</title></head><body>系统繁忙</body></html>", 200, "text/html");
  }
}

async function sendQunMsg(req: IncomingMessage, res: ServerResponse, ctx: RouteContext, url: URL): Promise<void> {
  const { state } = ctx;
  requireBrowserHeaders(req, D1_REFERER, true, ctx);
  const r = await readR(req, url.pathname);
  requireClientId(r.clientid, url.pathname);
  if (!state.web) return sendJson(res, { retcode: 100000 });
  const s = requireSession(ctx, r.psessionid, url.pathname);
  if (!s) return sendJson(res, { retcode: 121, t: "0" });
  if (typeof r.msg_id !== "number" || !Number.isInteger(r.msg_id)) refuse("send_qun_msg2: msg_id is not an integer");
  if (typeof r.face !== "number") refuse("send_qun_msg2: face missing");
  const group = state.groupByGid(Number(r.group_uin));
  if (group === undefined) refuse(`send_qun_msg2: group_uin ${String(r.group_uin)} is not a gid of this session`);
  // content must be a JSON *string* of the elements with the font last (a raw array gives 100001).
  if (typeof r.content !== "string") refuse("send_qun_msg2: content is not a JSON string");
  let content: unknown;
  try {
    content = JSON.parse(r.content);
  } catch {
    refuse("send_qun_msg2: content string is not JSON");
  }
  if (!Array.isArray(content) || content.length < 2) refuse("send_qun_msg2: content is not an array of text and font");
  const last = content.at(-1);
  if (!Array.isArray(last) || last[0] !== "font") refuse("send_qun_msg2: the font element is not last");
  for (const el of content.slice(0, -1)) {
    const ok = typeof el === "string" || (Array.isArray(el) && el[0] === "face" && typeof el[1] === "number");
    if (!ok) refuse(`send_qun_msg2: bad element ${JSON.stringify(el)}`);
  }
  const fault = state.sendFaults.shift() ?? state.sendDraw.draw();
  if (fault !== undefined) state.emit("fault", fault);
  if (fault === "frequency") return sendJson(res, { retcode: 100003 });
  if (fault === "100001") return sendJson(res, { retcode: 100001 });
  if (typeof fault === "object" && fault.retcode !== 100100) return sendJson(res, { retcode: fault.retcode });
  // Before the action: nothing delivered.
  if (fault === "500") return sendText(res, "<html>500 Internal Server Error</html>", 500, "text/html");
  if (fault === "reset" || fault === "reset-before") return void res.socket?.destroy();
  if (fault === "stall") return stall(res, ctx.parked);
  state.recordSent(group, content as SimElement[], r.msg_id);
  // After the action: delivered, the answer lost or unreadable.
  if (fault === "1202") return sendJson(res, { retcode: 1202 });
  if (typeof fault === "object") return sendJson(res, { retcode: fault.retcode }); // 100100: delivered (Mojo counts it as success)
  if (fault === "reset-after") return void res.socket?.destroy();
  if (fault === "500-after") return sendText(res, "<html>500 Internal Server Error</html>", 500, "text/html");
  if (fault === "stall-after") return stall(res, ctx.parked);
  if (fault === "malformed") return sendText(res, "<html>ok?", 200, "text/html");
  return sendJson(res, { errCode: 0, msg: "send ok" });
}
