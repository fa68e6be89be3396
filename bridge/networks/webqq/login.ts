// Logging in, as chains of HTTPStream steps (protocols.md §1.2):
//   QR:     ptqrshow → ptqrlogin (polled: 66/67 wait, 65 a new QR after a backoff, 0 go) → check_sig → connect
//   connect (also the relink after 121, with the cookies kept): getvfwebqq → login2 → get_online_buddies2
import { rm, writeFile } from "node:fs/promises";
import type { Logger } from "pino";
import { backoffDelay, classifyFailure, type HTTPStream, type RequestSpec, type Step, type StepContext, type StreamResponse } from "../../../src/index.ts";
import {
  BadAnswerError,
  buddiesRequest,
  getvfwebqqRequest,
  login2Request,
  parseLogin2,
  parseVfwebqq,
  readResult,
  RetcodeError,
  type Tokens,
} from "./api.ts";
import type { RepeatedWarning } from "../shared/repeated-warning.ts";
import { APPID, type Endpoints } from "./endpoints.ts";
import { hash33 } from "./hash.ts";
import { bodySnippet } from "./retcode.ts";

export interface QrImage {
  png: Uint8Array;
  pngPath: string;
}

export interface LoginOptions {
  stream: HTTPStream;
  ep: Endpoints;
  log: Logger;
  /** Where the QR PNG is written (mode 0600). */
  pngPath: string;
  /** ms between QR status polls. */
  qrPollInterval: number;
  backoff: { min: number; max: number };
  /** The wait before a new QR when the last one expired unscanned (a backoff, growing per round). */
  qrBackoff: { min: number; max: number };
  onQr: (qr: QrImage) => void | Promise<void>;
  /** The QR expired unscanned (its PNG is removed); a new one comes in `nextInMs`. */
  onQrExpired?: (nextInMs: number) => void;
  /** The QR was scanned and confirmed (its PNG is removed): the login goes on without anyone. */
  onQrScanned?: () => void;
  signal: AbortSignal;
  /** A failing step a server can make us repeat is warned about once a minute, with a count. */
  warnings: RepeatedWarning;
}

/** The login can not go on: a QR status the protocol does not know, or the session is gone. */
export class LoginFailedError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = "LoginFailedError";
  }
}

/** `ptuiCB('66','0','<url>','0','<msg>', '<nick>')` → code and url. */
export function parsePtuiCB(body: string): { code: number; url: string; message: string } | null {
  const m = /ptuiCB\(\s*'(\d+)'\s*,\s*'[^']*'\s*,\s*'([^']*)'\s*,\s*'[^']*'\s*,\s*'([^']*)'/.exec(body);
  return m ? { code: Number(m[1]), url: m[2]!, message: m[3]! } : null;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * Runs steps as one chain and resolves with what its last readback produced. A retcode or a
 * LoginFailedError ends it at once (the server said no); other failures back off and run the step
 * again, at most `maxFailures` times when given (a server that cannot be reached says nothing
 * about the login, so those are not counted).
 */
function runChain<T>(o: LoginOptions, name: string, first: (done: (v: T) => void) => Step, maxFailures = Infinity): Promise<T> {
  let value: { v: T } | undefined;
  let counted = 0;
  const step = first((v) => (value = { v }));
  const chain = o.stream.add(step.request, step.readback, {
    name,
    signal: o.signal,
    onError: (err: unknown, failed: Step, ctx: StepContext) => {
      if (err instanceof LoginFailedError || err instanceof RetcodeError) throw err;
      if (classifyFailure(err) !== "before-send" && ++counted >= maxFailures) {
        throw new LoginFailedError(`${name} failed ${counted} times (last: ${(err as Error).message})`, { cause: err });
      }
      const delay = backoffDelay(ctx.failures, o.backoff);
      const detail = { step: failed.request.name, failures: ctx.failures, retryIn: delay, err: (err as Error).message };
      o.warnings.warn(`login:${failed.request.name}:${(err as Error).message}`, detail, "webqq login step failed; retrying");
      return { ...failed, delay };
    },
  });
  return chain.done.then(() => {
    if (value === undefined) throw o.signal.reason ?? new LoginFailedError(`${name} ended without a result`);
    return value.v;
  });
}

/**
 * getvfwebqq → login2 → get_online_buddies2 with the jar's cookies and this ptwebqq. Rejects with
 * a RetcodeError when the server refuses (getvfwebqq 100001, login2 103...), or a LoginFailedError
 * after `maxFailures` failed tries: either way the cookies do not relink and a QR login is needed.
 */
export function connect(o: LoginOptions, ptwebqq: string, maxFailures = Infinity): Promise<Tokens> {
  return runChain<Tokens>(o, "webqq connect", (done) => connectStep(o, ptwebqq, done), maxFailures);
}

function connectStep(o: LoginOptions, ptwebqq: string, done: (t: Tokens) => void): Step {
  return {
    request: getvfwebqqRequest(o.ep, { ptwebqq }),
    readback: async (res) => {
      const vfwebqq = await parseVfwebqq(res);
      return {
        request: login2Request(o.ep, { ptwebqq, vfwebqq }),
        readback: async (res2) => {
          const { psessionid, uin } = await parseLogin2(res2);
          const tokens: Tokens = { ptwebqq, vfwebqq, psessionid, uin };
          return {
            request: buddiesRequest(o.ep, tokens),
            readback: async (res3) => {
              await readResult(res3, "get_online_buddies2");
              o.log.info({ uin }, "webqq logged in");
              done(tokens);
            },
          };
        },
      };
    },
  };
}

/** The full QR login: resolves once the session is ready (warm-up done). */
export function qrLogin(o: LoginOptions): Promise<Tokens> {
  return runChain<Tokens>(o, "webqq qr login", (done) => qrShowStep(o, done));
}

function qrShowStep(o: LoginOptions, done: (t: Tokens) => void, round = 1, delay = 0): Step {
  return {
    delay,
    request: {
      url: o.ep.url("ptlogin", "/ptqrshow"),
      query: { appid: APPID, e: 0, l: "M", s: 5, d: 72, v: 4, t: Math.random(), daid: 164, pt_3rd_aid: 0 },
      headers: { referer: o.ep.loginPage },
      name: "ptqrshow",
    },
    readback: async (res) => {
      if (res.status !== 200) throw new BadAnswerError("ptqrshow", `HTTP ${res.status}`);
      const png = await res.bytes();
      const qrsig = (await o.stream.cookies.getCookies(res.url)).find((c) => c.key === "qrsig")?.value;
      if (!qrsig) throw new BadAnswerError("ptqrshow", "no qrsig cookie");
      await writeFile(o.pngPath, png, { mode: 0o600 });
      await o.onQr({ png, pngPath: o.pngPath });
      o.log.info({ png: o.pngPath }, "webqq: scan the QR code with the QQ mobile app");
      return qrPollStep(o, qrsig, Date.now(), done, round);
    },
  };
}

function qrPollStep(o: LoginOptions, qrsig: string, shownAt: number, done: (t: Tokens) => void, round: number): Step {
  const token = hash33(qrsig);
  const request: RequestSpec = {
    url: o.ep.url("ptlogin", "/ptqrlogin"),
    query: {
      ptqrtoken: token, webqq_type: 10, remember_uin: 1, login2qq: 1, aid: APPID,
      u1: "https://w.qq.com/proxy.html?login2qq=1&webqq_type=10", ptredirect: 0, ptlang: 2052, daid: 164,
      from_ui: 1, pttype: 1, dumy: "", fp: "loginerroralert", action: `0-0-${Date.now() - shownAt}`,
      mibao_css: "m_webqq", t: "undefined", g: 1, js_type: 0, js_ver: 10184, login_sig: "", pt_randsalt: 3,
    },
    headers: { referer: o.ep.loginPage },
    secrets: [qrsig, String(token)],
    name: "ptqrlogin",
  };
  return {
    request,
    delay: o.qrPollInterval,
    readback: async (res: StreamResponse) => {
      const body = await res.text();
      const cb = parsePtuiCB(body);
      if (cb === null) throw new BadAnswerError("ptqrlogin", `not a ptuiCB answer: ${bodySnippet(body)}`);
      switch (cb.code) {
        case 66: // not scanned yet
        case 67: // scanned, waiting for the confirmation on the phone
          return qrPollStep(o, qrsig, shownAt, done, round);
        case 65: {
          // Nobody scanned it: the next QR comes after a backoff that grows per round (capped).
          const wait = backoffDelay(round, o.qrBackoff);
          o.log.info({ round, nextInMs: wait }, "webqq: the QR code expired unscanned; a new one follows");
          await rm(o.pngPath, { force: true }); // nobody should scan a dead QR
          o.onQrExpired?.(wait);
          return qrShowStep(o, done, round + 1, wait);
        }
        case 0:
          if (!isHttpUrl(cb.url)) throw new LoginFailedError("ptqrlogin: success without a valid check_sig URL");
          await rm(o.pngPath, { force: true }); // spent
          o.onQrScanned?.();
          return checkSigStep(o, cb.url, done);
        default:
          throw new LoginFailedError(`ptqrlogin: status ${cb.code} (${cb.message})`);
      }
    },
  };
}

function checkSigStep(o: LoginOptions, url: string, done: (t: Tokens) => void): Step {
  const sig = new URL(url).searchParams.get("ptsigx") ?? "";
  return {
    // The 302 sets the session cookies; HTTPStream keeps the cookies of every hop.
    request: { url, headers: { referer: o.ep.loginPage }, secrets: [sig], name: "check_sig" },
    readback: async (res) => {
      if (res.status >= 400) throw new BadAnswerError("check_sig", `HTTP ${res.status}`);
      const cookies = await o.stream.cookies.getCookies(o.ep.url("d1", "/"));
      const ptwebqq = cookies.find((c) => c.key === "ptwebqq")?.value ?? (await o.stream.cookies.getCookies(url)).find((c) => c.key === "ptwebqq")?.value;
      if (!ptwebqq) throw new LoginFailedError("check_sig set no ptwebqq cookie");
      return connectStep(o, ptwebqq, done);
    },
  };
}
