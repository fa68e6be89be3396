// The WebQQ (SmartQQ) network adapter: QR login, saved session, poll2 chain, groups by name, sends.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { CookieJar } from "tough-cookie";
import { backoffDelay, HTTPStream, type RetryOptions, type ResponseInfo } from "../../../src/index.ts";
import type { InboundMessage, MessageSink, NetworkAdapter } from "../../network.ts";
import { SendError } from "../../network.ts";
import { deliverWithRetry } from "../shared/deliver.ts";
import { RepeatedWarning } from "../shared/repeated-warning.ts";
import { removeFile, setAside, stateFilePath } from "../shared/state-file.ts";
import { StatusHolder } from "../shared/status.ts";
import { BadAnswerError, buddiesRequest, readResult, RetcodeError, type Tokens } from "./api.ts";
import { Directory } from "./directory.ts";
import { endpoints, USER_AGENT } from "./endpoints.ts";
import { connect, LoginFailedError, qrLogin, type LoginOptions } from "./login.ts";
import { PendingMessages, pendingPath } from "./pending.ts";
import { parsePollItem } from "./poll-item.ts";
import { runPoller } from "./poller.ts";
import { decodeQrPng, printQr } from "./qr-terminal.ts";
import { Sender } from "./sender.ts";
import { loadSession, saveSession, sessionPath } from "./session.ts";

export interface WebqqOptions {
  id: string; // network key in config, e.g. "qq"
  stateDir: string; // session file (mode 0600) + QR PNG go here
  endpoints?: { ptlogin?: string; ui?: string; s?: string; d1?: string; checkSig?: never }; // base URLs; defaults: historical hosts
  logger: Logger;
  groups: string[]; // configured group NAMES to relay
  sendInterval?: number; // ms between sends per group, default 500
  pollHold?: number; // expected server hold ms (timeout = hold + margin), default 60000
  onQr?: (qr: { png: Uint8Array; pngPath: string; text: string }) => void | Promise<void>; // default: print the QR to stderr as terminal blocks
  retry?: Partial<RetryOptions>; // tests pass tiny delays
  /** Observes every answered HTTP request (run wires poll latency metrics to it). */
  onResponse?: (info: ResponseInfo) => void;
  /** ms between QR status polls (the web page polled every 1–3 s); default 2000. */
  qrPollInterval?: number;
  /** The wait before a new QR after one expired unscanned: backoff from min, capped at max. Default 5 s → 5 min. */
  qrBackoff?: { min: number; max: number };
  /** Failed relinks (the server answered, but not with a session) before a QR login; default 3. */
  relinkAttempts?: number;
  /** ms a send waits for its answer before its outcome is unknown; default 30000. */
  sendTimeout?: number;
  /** Called once per poll2 item that could not be turned into a message (logged with its id, skipped). */
  onEventRejected?: (reason: string) => void;
}

/**
 * Longest text one send() takes, in UTF-16 units (the relay's measure): one send_qun_msg2 holds
 * 720 UTF-8 bytes (pandolia's limit), and a UTF-16 unit is at most 3 UTF-8 bytes.
 */
export const WEBQQ_MAX_MESSAGE_LENGTH = 240;

/** How long stop() lets requests still under way finish once everything was aborted. */
const CLOSE_TIMEOUT = 1_000;

export function createWebqq(opts: WebqqOptions): NetworkAdapter & { login(): Promise<void> } {
  const { checkSig: _never, ...bases } = opts.endpoints ?? {};
  const ep = endpoints(bases);
  const log = opts.logger.child({ network: opts.id });
  const backoff = { min: opts.retry?.minTimeout ?? 1_000, max: opts.retry?.maxTimeout ?? 60_000 };
  const file = sessionPath(opts.stateDir, opts.id);
  const pngPath = stateFilePath(opts.stateDir, "webqq", opts.id, "-qr.png");
  const configured = new Set(opts.groups);
  const pending = new PendingMessages(pendingPath(opts.stateDir, opts.id));

  let stream: HTTPStream | null = null;
  let directory: Directory | null = null;
  let sender: Sender | null = null;
  let tokens: Tokens | null = null;
  const main = new AbortController();
  let pollAbort: AbortController | null = null;
  let reloginRequested: string | null = null;
  let running: Promise<void> | null = null;
  /** Set once a QR was written: every login-required detail then names the PNG (for /healthz). */
  let qrWritten = false;

  const status = new StatusHolder({ log, network: "webqq" });
  const setStatus = (state: string, detail?: string): void => status.set(state, detail);
  const warnings = new RepeatedWarning(log);
  /** login-required, with the QR PNG's path once there is one. */
  const loginRequired = (why: string): void =>
    setStatus("login-required", qrWritten ? `${why}; scan the QR code (${pngPath})` : why);

  function open(jar: CookieJar): HTTPStream {
    stream = new HTTPStream({ logger: log, cookies: jar, retry: opts.retry, chainBackoff: backoff, headers: { "user-agent": USER_AGENT }, onResponse: opts.onResponse });
    directory = new Directory(stream, ep, log, warnings);
    sender = new Sender({
      stream,
      ep,
      log,
      interval: opts.sendInterval ?? 500,
      timeout: opts.sendTimeout ?? 30_000,
      signal: main.signal,
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

  /** Logs (bounded) and counts an item that could not be turned into a message; it is skipped. */
  function reject(id: string, reason: string): void {
    warnings.warn(`rejected:${reason}`, { id, reason }, "webqq: poll2 item rejected; skipped");
    opts.onEventRejected?.(reason);
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
        reject(p.id, p.reason);
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
          if (messages.length > 0) await deliverAll(sink, messages, signal);
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
    await deliverAll(sink, messages, signal);
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
  async function deliverAll(sink: MessageSink, messages: InboundMessage[], signal: AbortSignal): Promise<void> {
    await savePending(messages);
    for (const m of messages) await deliverWithRetry(sink, m, { backoff, log, network: "webqq", signal });
    await pending.clear();
  }

  /** What the last run received but did not hand over (stopped or crashed while the sink failed). */
  async function replayPending(sink: MessageSink, signal: AbortSignal): Promise<void> {
    const { messages, keptAs } = await pending.load();
    if (keptAs !== undefined) log.error({ keptAs }, "webqq: pending messages file unreadable; set aside");
    if (messages.length === 0) return;
    log.info({ count: messages.length }, "webqq: delivering the messages the last run received but did not store");
    await deliverAll(sink, messages, signal);
  }

  async function supervise(s: HTTPStream, sink: MessageSink, signal: AbortSignal): Promise<void> {
    let failures = 0;
    let stale = false;
    while (!signal.aborted) {
      try {
        tokens = await establish(s, signal, stale);
        stale = false;
        await persist(s);
        await qrUsed();
        await directory!.load(tokens, opts.groups, signal);
        failures = 0;
        reloginRequested = null;
        pollAbort = new AbortController();
        const pollSignal = AbortSignal.any([signal, pollAbort.signal]);
        setStatus("online");
        const end = await runPoller({
          stream: s,
          ep,
          log,
          tokens: () => tokens!,
          hold: opts.pollHold ?? 60_000,
          backoff,
          signal: pollSignal,
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
        if (signal.aborted) break;
        const why = end.reason === "relogin" ? end.detail : (reloginRequested ?? "poll ended");
        log.warn({ why }, "webqq: session lost; logging in again");
        setStatus("relogin", why);
        directory!.clear();
        stale = true;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const wait = backoffDelay(failures, backoff);
        warnings.warn(`login:${(err as Error).message}`, { err: (err as Error).message, failures, retryIn: wait }, "webqq: login failed; retrying");
        if (tokens) setStatus("relogin", (err as Error).message);
        else loginRequired((err as Error).message);
        await sleep(wait, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  return {
    id: opts.id,
    type: "webqq",
    maxMessageLength: WEBQQ_MAX_MESSAGE_LENGTH,
    evidence: { echo: false, history: false },

    async start(sink) {
      if (running) throw new Error("webqq already started");
      setStatus("starting");
      const saved = await loadSaved();
      tokens = saved?.tokens ?? null;
      const s = open(saved?.jar ?? new CookieJar());
      running = (async () => {
        try {
          await replayPending(sink, main.signal); // first: they came before anything poll2 answers now
        } catch (err) {
          if (main.signal.aborted) return;
          log.error({ err: (err as Error).message, file: pending.file }, "webqq: pending messages not replayed; kept for the next start");
        }
        await supervise(s, sink, main.signal);
      })();
    },

    // Every wait (QR polls, relink backoff, poll2, sends, sink retries) honours main.signal, so
    // this returns promptly whatever the network is doing.
    async stop() {
      main.abort();
      await running;
      await stream?.close({ timeout: CLOSE_TIMEOUT });
      setStatus("stopped");
    },

    async send(group, text) {
      if (!configured.has(group)) throw new SendError(`webqq: "${group}" is not a configured group`, "fatal");
      if (!tokens || !sender || !directory || status.get().state !== "online") {
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

    status: () => status.get(),

    onStatus: (listener) => status.onStatus(listener),

    async login() {
      const s = stream ?? open(new CookieJar());
      tokens = await qrLogin(loginOptions(s, main.signal));
      await persist(s);
      await qrUsed();
      setStatus("logged-in");
      if (!running) {
        await s.close();
        stream = null;
      }
    },
  };
}
