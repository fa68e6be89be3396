// send_qun_msg2 with per-group spacing (protocols.md §1.7). One send() is one wire message: the
// relay splits long texts (maxMessageLength), so an outcome always belongs to exactly one outbox
// item. Never resent here: the relay settles "unknown" and retries "retry".
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { HTTPStream } from "../../../src/index.ts";
import { neverSent } from "../shared/request-sent.ts";
import { SendError } from "../../network.ts";
import { sendQunRequest, type Tokens } from "./api.ts";
import { sendContent } from "./content.ts";
import type { Endpoints } from "./endpoints.ts";
import { bodySnippet, classifySend } from "./retcode.ts";

/** Longest spacing a run of frequency errors can push a group to. */
export const MAX_SEND_INTERVAL = 30_000;

export interface SenderOptions {
  stream: HTTPStream;
  ep: Endpoints;
  log: Logger;
  /** Base spacing between two sends to one group (ms). */
  interval: number;
  /** How long a send waits for its answer (ms); past it the outcome is unknown. */
  timeout: number;
  /** Called when an answer says the session is gone (or its cookies are refused). */
  onSessionGone: (detail: string) => void;
  signal: AbortSignal;
}

interface GroupLane {
  /** Sends to one group run one after another. */
  tail: Promise<unknown>;
  lastSent: number;
  interval: number;
}

export class Sender {
  private readonly o: SenderOptions;
  private readonly lanes = new Map<string, GroupLane>();
  /** Mojo's scheme: a large number from the clock, then +1 per send (never reused). */
  private msgId = (Math.floor(Date.now() / 1000) % 10_000) * 10_000;
  /**
   * `group\0text` of sends answered 100001 by the session with this psessionid. The same text
   * refused again by a fresh session is refused for what it is, not for the session: fatal.
   */
  private readonly badRequests = new Map<string, string>();

  constructor(o: SenderOptions) {
    this.o = o;
  }

  /** The current spacing of a group (grows on frequency errors, decays on success). */
  intervalOf(group: string): number {
    return this.lanes.get(group)?.interval ?? this.o.interval;
  }

  /** Sends text (at most maxMessageLength: the adapter refuses longer) as one message to the group; resolves once the server accepted it. */
  send(group: string, gid: number, tokens: Tokens, text: string): Promise<void> {
    let lane = this.lanes.get(group);
    if (!lane) {
      lane = { tail: Promise.resolve(), lastSent: 0, interval: this.o.interval };
      this.lanes.set(group, lane);
    }
    const l = lane;
    const run = lane.tail.then(() => this.sendOne(l, group, gid, tokens, text));
    lane.tail = run.catch(() => undefined);
    return run;
  }

  private async sendOne(lane: GroupLane, group: string, gid: number, tokens: Tokens, text: string): Promise<void> {
    const wait = lane.lastSent + lane.interval - Date.now();
    try {
      if (wait > 0) await sleep(wait, undefined, { signal: this.o.signal });
    } catch {
      throw new SendError("webqq is stopping", "retry");
    }
    if (this.o.signal.aborted) throw new SendError("webqq is stopping", "retry");
    const msgId = ++this.msgId;
    let status: number;
    let body: string;
    try {
      const request = { ...sendQunRequest(this.o.ep, tokens, gid, sendContent(text), msgId), timeout: this.o.timeout };
      const res = await this.o.stream.request(request, { signal: this.o.signal });
      status = res.status;
      body = await res.text();
    } catch (err) {
      // Not fully written: certainly not delivered. Anything later (reset, stall, cut body) may have been.
      const kind = neverSent(err) ? "retry" : "unknown";
      throw new SendError(`send to ${group}: ${(err as Error).message}`, kind, { cause: err });
    } finally {
      lane.lastSent = Date.now();
    }
    if (status >= 500) throw new SendError(`send to ${group}: HTTP ${status}: ${bodySnippet(body)}`, "unknown");
    // A 4xx refuses the request as such (Referer, Origin, path): the server did nothing.
    if (status !== 200) throw new SendError(`send to ${group}: HTTP ${status}: ${bodySnippet(body)}`, "retry", { retryAfterMs: Math.max(lane.interval, 5_000) });
    const outcome = classifySend(body);
    const key = `${group}\0${text}`;
    switch (outcome.kind) {
      case "ok":
        this.badRequests.delete(key);
        lane.interval = Math.max(this.o.interval, Math.floor(lane.interval * 0.75));
        return;
      case "delivered":
        this.badRequests.delete(key);
        this.o.log.info({ group, retcode: outcome.retcode }, "webqq: send answered a retcode that means delivered (Mojo)");
        return;
      case "maybe":
        // pandolia: 1202 "may have failed"; its resend on 1202 duplicated messages. The relay decides.
        throw new SendError(`send to ${group}: retcode ${outcome.retcode} (maybe delivered)`, "unknown");
      case "frequency":
        lane.interval = Math.min(MAX_SEND_INTERVAL, Math.max(lane.interval * 2, 1_000));
        this.o.log.warn({ group, interval: lane.interval }, "webqq: send refused as too frequent (100003); slowing this group");
        throw new SendError(`send to ${group}: too frequent (100003)`, "retry", { retryAfterMs: lane.interval });
      case "relogin":
        this.o.onSessionGone(`send_qun_msg2 retcode ${outcome.retcode}`);
        throw new SendError(`send to ${group}: session gone (retcode ${outcome.retcode}); retried after the re-login`, "retry");
      case "bad-request": {
        // Bad parameters or cookies: our parameters have one shape, so it is the session's
        // cookies. Recover the session and retry; the same text refused by a second session is
        // refused for itself and can never be delivered.
        const refusedBy = this.badRequests.get(key);
        if (refusedBy !== undefined && refusedBy !== tokens.psessionid) {
          this.badRequests.delete(key);
          throw new SendError(`send to ${group}: refused as a bad request (retcode ${outcome.retcode}) by two sessions; not deliverable`, "fatal");
        }
        this.badRequests.set(key, tokens.psessionid);
        if (this.badRequests.size > 100) this.badRequests.delete(this.badRequests.keys().next().value!);
        this.o.onSessionGone(`send_qun_msg2 retcode ${outcome.retcode} (bad parameters or cookies)`);
        throw new SendError(`send to ${group}: retcode ${outcome.retcode} (bad parameters or cookies); retried after the re-login`, "retry");
      }
      case "refused":
        throw new SendError(`send to ${group}: refused (retcode ${outcome.retcode})`, "retry", { retryAfterMs: Math.max(lane.interval, 1_000) });
      case "unreadable":
        throw new SendError(`send to ${group}: ${outcome.reason}`, "unknown");
    }
  }
}
