// How an action reaches the implementation: over its HTTP API, or as a frame on a WebSocket.
// Callers see one interface; failures carry whether the request left (`requestSent`).
import type { HTTPStream } from "../../../src/index.ts";
import { actionRequest, readAction, type ApiTarget } from "./api.ts";

export interface CallOptions {
  /** Give up waiting for the answer after this long. */
  timeoutMs?: number;
  /** Safe to repeat (a read): HTTP retries it on transport failures. A send is never repeated here. */
  retrySafe?: boolean;
  signal?: AbortSignal;
}

export interface Actions {
  /** Resolves with the answer's `data`; rejects with ActionError, ActionNotSentError, ActionLostError or a transport error. */
  call(action: string, params: Record<string, unknown>, o?: CallOptions): Promise<unknown>;
}

export class HttpActions implements Actions {
  private readonly stream: HTTPStream;
  private readonly target: ApiTarget;
  constructor(stream: HTTPStream, target: ApiTarget) {
    this.stream = stream;
    this.target = target;
  }
  async call(action: string, params: Record<string, unknown>, o: CallOptions = {}): Promise<unknown> {
    const extra = o.retrySafe ? { retrySafe: true } : { retry: false as const };
    const res = await this.stream.request(actionRequest(this.target, action, params, { ...extra, ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}) }), { signal: o.signal });
    return readAction(res, action);
  }
}
