// go-cqhttp's get_updates long poll (protocols.md §2.5): one global FIFO, an event is removed once
// answered, heartbeats included. A timeout is always sent (0 or none blocks until an event comes).
import type { ChainHandle, RequestSpec, Step, StreamResponse } from "../../../src/index.ts";
import { ActionError, auth, endpoint, readAction } from "./api.ts";
import type { PendingEvents } from "./pending.ts";
import { onSourceError, type SourceContext } from "./source.ts";

/** Events per answer: enough to drain a burst, few enough that one answer stays small. */
export const UPDATES_LIMIT = 100;

export function getUpdatesRequest(ctx: SourceContext): RequestSpec {
  const a = auth(ctx.target);
  const hold = Math.max(1, Math.round(ctx.pollTimeoutSeconds));
  return {
    method: "GET",
    url: endpoint(ctx.target.api, "get_updates"),
    query: { limit: UPDATES_LIMIT, timeout: hold },
    headers: a.headers,
    secrets: a.secrets,
    longPoll: true,
    // The hold plus a margin: above the server's hold, never far above.
    timeout: hold * 1000 + Math.min(30_000, Math.max(2_000, hold * 500)),
    retry: { statuses: [] }, // statuses go to the readback (401/403 are not transient)
    name: "get_updates",
  };
}

export function startLongPoll(ctx: SourceContext, pending: PendingEvents): ChainHandle {
  const failures = ctx.newFailures();
  const request = getUpdatesRequest(ctx);
  let sentAt = 0;
  const again = (delay = 0): Step => {
    sentAt = performance.now() + delay;
    return { request, readback, delay };
  };

  async function readback(res: StreamResponse): Promise<Step> {
    const polledAt = sentAt;
    let data: unknown;
    try {
      data = await readAction(res, "get_updates");
    } catch (err) {
      if (!(err instanceof ActionError)) throw err;
      if (err.kind === "auth") return again(failures.authFailed(err.message));
      if ((err.kind === "failed" && (err.retcode === 404 || /API_NOT_FOUND/.test(err.serverMessage))) || (err.kind === "http" && err.httpStatus === 404)) {
        const detail = "get_updates is not available: enable long-polling in go-cqhttp (servers: - http: long-polling), or use events: sse / webhook";
        ctx.setStatus("unsupported", detail);
        ctx.log.error({ detail }, "onebot11: no long poll on this server");
        return again(ctx.authWait(1));
      }
      return again(failures.failed("retrying", err.message, "get_updates"));
    }
    if (!Array.isArray(data)) return again(failures.failed("retrying", "get_updates: data is not a list", "get_updates"));
    failures.ok();
    ctx.setStatus("online");
    // From here the events are ours alone: kept on disk until the sink took them.
    const mine = data.filter((e) => ctx.inbound.relevant(e));
    await pending.add(mine);
    for (const event of mine) {
      await ctx.inbound.handle(event);
      await pending.remove(event);
    }
    if (data.length < UPDATES_LIMIT) ctx.onComplete?.(polledAt);
    return again();
  }

  return ctx.stream.add(request, readback, { name: "onebot11 get_updates", signal: ctx.signal, onError: onSourceError(ctx, failures, "get_updates") });
}
