// send_qun_msg2 with per-group spacing (protocols.md §1.7). Never resent blindly: an answer that
// does not say "not delivered" is reported as SendError "unknown", not retried here.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { classifyFailure, type HTTPStream } from "../../../src/index.ts";
import { SendError } from "../../network.ts";
import { sendQunRequest, type Tokens } from "./api.ts";
import { sendContent, splitText } from "./content.ts";
import type { Endpoints } from "./endpoints.ts";
import { classifySend, snippet } from "./retcode.ts";

/** Longest spacing a run of frequency errors can push a group to. */
export const MAX_SEND_INTERVAL = 30_000;

export interface SenderOptions {
  stream: HTTPStream;
  ep: Endpoints;
  log: Logger;
  /** Base spacing between two sends to one group (ms). */
  interval: number;
  /** Called when an answer says the session is gone. */
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

  constructor(o: SenderOptions) {
    this.o = o;
  }

  /** The current spacing of a group (grows on frequency errors, decays on success). */
  intervalOf(group: string): number {
    return this.lanes.get(group)?.interval ?? this.o.interval;
  }

  /** Sends text (split at the byte limit) to the group; resolves with the last part's msg_id. */
  send(group: string, gid: number, tokens: Tokens, text: string): Promise<string> {
    let lane = this.lanes.get(group);
    if (!lane) {
      lane = { tail: Promise.resolve(), lastSent: 0, interval: this.o.interval };
      this.lanes.set(group, lane);
    }
    const run = lane.tail.then(() => this.sendParts(lane, group, gid, tokens, splitText(text)));
    lane.tail = run.catch(() => undefined);
    return run;
  }

  private async sendParts(lane: GroupLane, group: string, gid: number, tokens: Tokens, parts: string[]): Promise<string> {
    let id = "";
    for (let i = 0; i < parts.length; i++) {
      try {
        id = await this.sendOne(lane, group, gid, tokens, parts[i]!);
      } catch (err) {
        // Earlier parts were delivered: a "retry" of the whole text would duplicate them.
        if (i > 0 && err instanceof SendError && err.kind === "retry") {
          throw new SendError(`${err.message} (after ${i} of ${parts.length} parts were delivered)`, "unknown", { cause: err });
        }
        throw err;
      }
    }
    return id;
  }

  private async sendOne(lane: GroupLane, group: string, gid: number, tokens: Tokens, text: string): Promise<string> {
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
      const res = await this.o.stream.request(sendQunRequest(this.o.ep, tokens, gid, sendContent(text), msgId), { signal: this.o.signal });
      status = res.status;
      body = await res.text();
    } catch (err) {
      // Connect/DNS failures never reached the server; anything later may have been delivered.
      const kind = classifyFailure(err) === "before-send" ? "retry" : "unknown";
      throw new SendError(`send to ${group}: ${(err as Error).message}`, kind, { cause: err });
    } finally {
      lane.lastSent = Date.now();
    }
    if (status !== 200) throw new SendError(`send to ${group}: HTTP ${status}: ${snippet(body)}`, "unknown");
    const outcome = classifySend(body);
    switch (outcome.kind) {
      case "ok":
        lane.interval = Math.max(this.o.interval, Math.floor(lane.interval * 0.75));
        return String(msgId);
      case "ok-ambiguous":
        // Mojo counts 1202/100100 as delivered; pandolia's resend on 1202 duplicated messages.
        this.o.log.warn({ group, retcode: outcome.retcode }, "webqq: send answered an ambiguous retcode; counted as delivered");
        return String(msgId);
      case "frequency":
        lane.interval = Math.min(MAX_SEND_INTERVAL, Math.max(lane.interval * 2, 1_000));
        this.o.log.warn({ group, interval: lane.interval }, "webqq: send refused as too frequent (100003); slowing this group");
        throw new SendError(`send to ${group}: too frequent (100003)`, "retry", { retryAfterMs: lane.interval });
      case "relogin":
        this.o.onSessionGone(`send_qun_msg2 retcode ${outcome.retcode}`);
        throw new SendError(`send to ${group}: session gone (retcode ${outcome.retcode})`, "retry");
      case "rejected":
        // A bad request is refused the same way every time: fatal, or it would hold the group's queue forever.
        if (outcome.permanent) throw new SendError(`send to ${group}: refused as a bad request (retcode ${outcome.retcode}); not retried`, "fatal");
        throw new SendError(`send to ${group}: refused (retcode ${outcome.retcode})`, "retry", { retryAfterMs: lane.interval });
      case "unreadable":
        throw new SendError(`send to ${group}: ${outcome.reason}`, "unknown");
    }
  }
}
