// The WebQQ (SmartQQ) network adapter: QR login, saved session, poll2 chain, groups by name, sends.
import { setTimeout as sleep } from "node:timers/promises";
import { CookieJar } from "tough-cookie";
import { backoffDelay, HTTPStream } from "../../../src/index.ts";
import type { InboundMessage, MessageSink, NetworkAdapter } from "../../network.ts";
import { SendError } from "../../network.ts";
import type { NetworkOptions } from "../shared/options.ts";
import { NetworkSkeleton } from "../shared/skeleton.ts";
import { removeFile, setAside, stateFilePath } from "../shared/state-file.ts";
import { BadAnswerError, buddiesRequest, readResult, RetcodeError, type Tokens } from "./api.ts";
import { MAX_SEND_BYTES } from "./content.ts";
import { Directory } from "./directory.ts";
import { endpoints, USER_AGENT } from "./endpoints.ts";
import { connect, LoginFailedError, qrLogin, type LoginOptions } from "./login.ts";
import { PendingMessages, pendingPath } from "./pending.ts";
import { parsePollItem } from "./poll-item.ts";
import { runPoller } from "./poller.ts";
import { decodeQrPng, printQr } from "./qr-terminal.ts";
import { Sender } from "./sender.ts";
import { loadSession, saveSession, sessionPath } from "./session.ts";

export interface WebqqOptions extends NetworkOptions {
  endpoints?: { ptlogin?: string; ui?: string; s?: string; d1?: string; checkSig?: never }; // base URLs; defaults: historical hosts
  sendInterval?: number; // ms between sends per group, default 500
  pollHold?: number; // expected server hold ms (timeout = hold + margin), default 60000
  onQr?: (qr: { png: Uint8Array; pngPath: string; text: string }) => void | Promise<void>; // default: print the QR to stderr as terminal blocks
  /** ms between QR status polls (the web page polled every 1–3 s); default 2000. */
  qrPollInterval?: number;
  /** The wait before a new QR after one expired unscanned: backoff from min, capped at max. Default 5 s → 5 min. */
  qrBackoff?: { min: number; max: number };
  /** Failed relinks (the server answered, but not with a session) before a QR login; default 3. */
  relinkAttempts?: number;
  /** ms a send waits for its answer before its outcome is unknown; default 30000. */
  sendTimeout?: number;
}

/**
 * Longest text one send() takes, in UTF-16 units (the relay's measure, and where it splits): one
 * send_qun_msg2 holds MAX_SEND_BYTES = 720 UTF-8 bytes (pandolia's limit), and a UTF-16 unit is at
 * most 3 UTF-8 bytes. A longer text is refused whole (fatal), never split here.
 */
export const WEBQQ_MAX_MESSAGE_LENGTH = MAX_SEND_BYTES / 3;

/** How long stop() lets requests still under way finish once everything was aborted. */
const CLOSE_TIMEOUT = 1_000;

export function createWebqq(opts: WebqqOptions): NetworkAdapter & { login(): Promise<void> } {
  const { checkSig: _never, ...bases } = opts.endpoints ?? {};
  const ep = endpoints(bases);
  // No auth backoff: a refused session leads to a QR login, which waits for its scan.
  const net = new NetworkSkeleton({ id: opts.id, type: "webqq", logger: opts.logger, retry: opts.retry, onEventRejected: opts.onEventRejected });
  const { log, warnings, backoff } = net;
  const file = sessionPath(opts.stateDir, opts.id);
  const pngPath = stateFilePath(opts.stateDir, "webqq", opts.id, "-qr.png");
  const configured = new Set(opts.groups);
  const pending = new PendingMessages(pendingPath(opts.stateDir, opts.id));

  let stream: HTTPStream | null = null;
  let directory: Directory | null = null;
  let sender: Sender | null = null;
  let tokens: Tokens | null = null;
  let pollAbort: AbortController | null = null;
  let reloginRequested: string | null = null;
  /** The poll gave up on the current session: the next session does not try it again. */
  let stale = false;
  /** Set once a QR was written: every login-required detail then names the PNG (for /healthz). */
  let qrWritten = false;

  const setStatus = (state: string, detail?: string): void => net.setStatus(state, detail);
  /** The login-required detail, with the QR PNG's path once there is one. */
  const loginRequiredDetail = (why: string): string => (qrWritten ? `${why}; scan the QR code (${pngPath})` : why);
  const loginRequired = (why: string): void => setStatus("login-required", loginRequiredDetail(why));

  function open(jar: CookieJar): HTTPStream {
    stream = new HTTPStream({ logger: log, cookies: jar, retry: opts.retry, chainBackoff: backoff, headers: { "user-agent": USER_AGENT }, onResponse: opts.onResponse });
    directory = new Directory(stream, ep, log, warnings);
    sender = new Sender({
      stream,
      ep,
      log,
      interval: opts.sendInterval ?? 500,
      timeout: opts.sendTimeout ?? 30_000,
      signal: net.signal,
      onSessionGone: (detail) => {
        reloginRequested = detail;
        pollAbort?.abort();
      },
    });
    return stream;
  }

  function loginOptions(s: HTTPStream, signal: AbortSignal): LoginOptions {
    return {
      stream: s,
      ep,
      log,
      pngPath,
      qrPollInterval: opts.qrPollInterval ?? 2_000,
      backoff,
      qrBackoff: opts.qrBackoff ?? { min: 5_000, max: 300_000 },
      signal,
      warnings,
      onQrExpired: (wait) => {
        qrWritten = false;
        setStatus("login-required", `the QR code expired unscanned; a new one in ${Math.ceil(wait / 1000)} s (${pngPath})`);
      },
      onQrScanned: () => {
        qrWritten = false;
        setStatus("relogin", "QR code scanned; logging in");
      },
      onQr: async ({ png, pngPath: path }) => {
        qrWritten = true;
        setStatus("login-required", `scan the QR code (${path})`);
        let text = "";
        try {
          text = decodeQrPng(png);
        } catch (err) {
          log.warn({ err: (err as Error).message }, "webqq: could not decode the QR image; use the PNG");
        }
        if (opts.onQr) await opts.onQr({ png, pngPath: path, text });
        else await printQr({ pngPath: path, text }, process.stderr);
      },
    };
  }

  /** A login went through: the QR PNG is spent and goes (a later login-required writes a new one). */
  async function qrUsed(): Promise<void> {
    if (!qrWritten) return;
    qrWritten = false;
    await removeFile(pngPath).catch((err: unknown) => log.warn({ err: (err as Error).message }, "webqq: could not remove the used QR PNG"));
  }

  async function persist(s: HTTPStream): Promise<void> {
    if (tokens) await saveSession(file, { ...tokens, jar: s.cookies });
  }

  /** The saved session's tokens (and its jar for the stream), or null when there is none usable. */
  async function loadSaved(): Promise<{ tokens: Tokens; jar: CookieJar } | null> {
    try {
      const saved = await loadSession(file);
      if (!saved) return null;
      const { jar, ...t } = saved;
      return { tokens: t, jar };
    } catch (err) {
      const aside = await setAside(file).catch(() => file);
      log.error({ err: (err as Error).message, keptAs: aside }, "webqq: saved session unusable; logging in again");
      return null;
    }
  }

  /**
   * A working session: the current one if the server still takes it (unless `stale`: the poll
   * gave up on it), else a relink with the saved cookies, else a QR login. A relink the server
   * refuses (getvfwebqq 100001, login2 103, any retcode) or that fails `relinkAttempts` times
   * means the cookies are dead: they are dropped and the QR login follows.
   */
  async function establish(s: HTTPStream, signal: AbortSignal, stale: boolean): Promise<Tokens> {
    const lo = loginOptions(s, signal);
    if (tokens && !stale && (await stillValid(s, tokens, signal))) return tokens;
    if (tokens) {
      setStatus("relogin", "relinking with the saved cookies");
      try {
        return await connect(lo, tokens.ptwebqq, opts.relinkAttempts ?? 3);
      } catch (err) {
        if (signal.aborted || !(err instanceof RetcodeError || err instanceof LoginFailedError || err instanceof BadAnswerError)) throw err;
        log.warn({ err: (err as Error).message }, "webqq: relink refused; a QR login is needed");
        tokens = null;
        loginRequired(`relink refused (${(err as Error).message})`);
      }
    } else {
      loginRequired("no session");
    }
    return await qrLogin(lo);
  }

  /** The warm-up call doubles as the check of a saved session; false when the server refuses it. */
  async function stillValid(s: HTTPStream, t: Tokens, signal: AbortSignal): Promise<boolean> {
    try {
      await readResult(await s.request(buddiesRequest(ep, t), { signal }), "get_online_buddies2");
      return true;
    } catch (err) {
      if (!(err instanceof RetcodeError)) throw err;
      log.info({ retcode: err.retcode }, "webqq: saved session refused; relinking with the saved cookies");
      return false;
    }
  }

  /**
   * The group list again, retried with backoff until it comes (or stop()): poll2 already removed
   * the answer's messages on the server, so a failed list must not drop this one or those after it.
   */
  async function loadGroupsUntilDone(dir: Directory, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await dir.load(tokens!, opts.groups, signal);
        return;
      } catch (err) {
        // A gone session cannot resolve this session's gid any more: the poll moves on to the re-login.
        if (signal.aborted || (err instanceof RetcodeError && err.sessionGone)) throw err;
        const wait = backoffDelay(attempt, backoff);
        warnings.warn(`group list:${(err as Error).message}`, { err: (err as Error).message, attempt, retryIn: wait }, "webqq: group list failed; keeping the message and retrying");
        await sleep(wait, undefined, { signal });
      }
    }
  }

  /**
   * Turns one answer's items into messages, keeps them in the pending file, hands them to the sink
   * in order, then clears the file; resolves with how many items were usable.
   */
  async function handleItems(dir: Directory, sink: MessageSink, items: unknown[], signal: AbortSignal): Promise<number> {
    let usable = 0;
    const messages: InboundMessage[] = [];
    const senders: { gid: number; uin: number }[] = [];
    for (const item of items) {
      const p = parsePollItem(item);
      if (p.kind === "rejected") {
        net.rejected(p.reason, { id: p.id }, "poll2 item");
        continue;
      }
      usable++;
      if (p.kind === "other") {
        log.debug({ poll_type: p.pollType }, "webqq: poll item skipped");
        continue;
      }
      let group = dir.byGroupId(p.gid);
      if (!group) {
        try {
          await loadGroupsUntilDone(dir, signal); // a group joined since the login
        } catch (err) {
          // The session went away (or stop()): what was resolved so far still reaches the sink.
          if (messages.length > 0) await deliverAll(sink, messages);
          throw err;
        }
        group = dir.byGroupId(p.gid);
      }
      if (!group || !configured.has(group.name)) continue;
      if (p.sendUin === tokens!.uin) continue; // our own message, echoed (no evidence: WebQQ gives no send id)
      const time = p.time ?? Math.floor(Date.now() / 1000);
      messages.push({
        // group name (stable across logins) + server time + msg_id (per session): stable on redelivery.
        id: `${group.name}:${time}:${p.msgId}`,
        group: group.name,
        senderId: String(p.sendUin),
        senderName: String(p.sendUin),
        text: p.text,
        time: new Date(time * 1000),
      });
      senders.push({ gid: p.gid, uin: p.sendUin });
    }
    if (messages.length === 0) return usable;
    // poll2 removed them from the server: on disk before any further round trip, so a kill -9
    // during the name lookups below does not lose them (a replay shows the uin as the name).
    await savePending(messages);
    // A name is cosmetic: a lookup that fails or is cut by stop() leaves the uin.
    for (const [i, who] of senders.entries()) {
      const name = await dir.memberName(tokens!, who.gid, who.uin, signal).catch(() => undefined);
      if (name !== undefined) messages[i] = { ...messages[i]!, senderName: name };
    }
    await deliverAll(sink, messages);
    return usable;
  }

  async function savePending(messages: InboundMessage[]): Promise<void> {
    try {
      await pending.save(messages);
    } catch (err) {
      // The sink is still tried: the file only covers a crash while the sink fails.
      log.error({ err: (err as Error).message, file: pending.file }, "webqq: pending messages file not written; delivering without it");
    }
  }

  /** The messages reach the sink, kept in the pending file meanwhile (cleared once all were taken). */
  async function deliverAll(sink: MessageSink, messages: InboundMessage[]): Promise<void> {
    await savePending(messages);
    for (const m of messages) await net.deliver(sink, m);
    await pending.clear();
  }

  /** What the last run received but did not hand over (stopped or crashed while the sink failed). */
  async function replayPending(sink: MessageSink): Promise<void> {
    const { messages, keptAs } = await pending.load();
    if (keptAs !== undefined) log.error({ keptAs }, "webqq: pending messages file unreadable; set aside");
    if (messages.length === 0) return;
    log.info({ count: messages.length }, "webqq: delivering the messages the last run received but did not store");
    await deliverAll(sink, messages);
  }

  /** A working session (saved, relinked or by QR), then the poll2 chain until the session is lost. */
  async function session(s: HTTPStream, sink: MessageSink): Promise<number> {
    const signal = net.signal;
    tokens = await establish(s, signal, stale);
    stale = false;
    await persist(s);
    await qrUsed();
    await directory!.load(tokens, opts.groups, signal);
    net.failures.ok();
    reloginRequested = null;
    pollAbort = new AbortController();
    setStatus("online");
    const end = await runPoller({
      stream: s,
      ep,
      log,
      tokens: () => tokens!,
      hold: opts.pollHold ?? 60_000,
      backoff,
      signal: AbortSignal.any([signal, pollAbort.signal]),
      // Only stop() interrupts a delivery: a message the server handed over is never dropped.
      onItems: (items) => handleItems(directory!, sink, items, signal),
      onRotate: async (p) => {
        tokens = { ...tokens!, ptwebqq: p };
        await s.cookies.setCookie(`ptwebqq=${p}; Path=/`, ep.url("d1", "/"));
        await persist(s);
      },
      onAnswer: () => setStatus("online"),
      onTrouble: (state, detail) => setStatus(state, detail),
      warnings,
    });
    if (net.stopping) return 0;
    const why = end.reason === "relogin" ? end.detail : (reloginRequested ?? "poll ended");
    log.warn({ why }, "webqq: session lost; logging in again");
    setStatus("relogin", why);
    directory!.clear();
    stale = true;
    return 0;
  }

  return {
    ...net.base,
    maxMessageLength: WEBQQ_MAX_MESSAGE_LENGTH,
    evidence: { echo: false, history: false },
    crashGap: "an answer of poll2 on its way at that moment (WebQQ has no acknowledgement and no group history)",
    // SmartQQ has no reply, edit, recall or @ in its protocol, and its pictures (cface/offpic)
    // download only with the session's cookies: nothing native; they read "[image]" (content.ts).
    features: { reply: false, edit: false, retract: false, media: false, mention: false },

    async start(sink) {
      net.starting();
      const saved = await loadSaved();
      tokens = saved?.tokens ?? null;
      const s = open(saved?.jar ?? new CookieJar());
      net.run(async () => {
        try {
          await replayPending(sink); // first: they came before anything poll2 answers now
        } catch (err) {
          if (net.stopping) return;
          log.error({ err: (err as Error).message, file: pending.file }, "webqq: pending messages not replayed; kept for the next start");
        }
        await net.supervise(
          () => session(s, sink),
          (err) => {
            const why = (err as Error).message;
            return tokens ? { state: "relogin", detail: why, what: "login" } : { state: "login-required", detail: loginRequiredDetail(why), what: "login" };
          },
        );
      });
    },

    // Every wait (QR polls, relink backoff, poll2, sends, sink retries) honours the stop signal,
    // so this returns promptly whatever the network is doing.
    async stop() {
      await net.stop(async () => stream?.close({ timeout: CLOSE_TIMEOUT }));
    },

    async send(group, text) {
      if (!configured.has(group)) throw new SendError(`webqq: "${group}" is not a configured group`, "fatal");
      net.refuseTooLong(group, text, WEBQQ_MAX_MESSAGE_LENGTH);
      if (!tokens || !sender || !directory || net.current().state !== "online") {
        throw new SendError("webqq is not online", "retry", { retryAfterMs: 5_000 });
      }
      const entry = directory.byGroupName(group);
      if (!entry) {
        if (directory.size > 0) throw new SendError(`webqq: the account has no group named "${group}"`, "fatal");
        throw new SendError("webqq groups not loaded yet", "retry", { retryAfterMs: 5_000 });
      }
      await sender.send(group, entry.gid, tokens, text);
      return { id: "" }; // send_qun_msg2 answers no message id
    },

    async groups() {
      return directory?.names() ?? [];
    },

    async login() {
      const s = stream ?? open(new CookieJar());
      tokens = await qrLogin(loginOptions(s, net.signal));
      await persist(s);
      await qrUsed();
      setStatus("logged-in");
      if (!net.started) {
        await s.close();
        stream = null;
      }
    },
  };
}
