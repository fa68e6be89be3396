// NapCat's Server-Sent Events stream `GET {api}/_events` (protocols.md §2.5): one `data: <event
// JSON>` per event. Reconnected with backoff when it ends. NapCat does not replay: the events of
// the time no stream was open are caught up from history before the new stream is read.
import { StringDecoder } from "node:string_decoder";
import type { ChainHandle, RequestSpec, Step, StreamResponse } from "../../../src/index.ts";
import { auth, endpoint } from "./api.ts";
import { RepeatedWarning } from "../shared/repeated-warning.ts";
import { onSourceError, type SourceContext } from "./source.ts";
import { snippet } from "../shared/snippet.ts";

export function sseRequest(ctx: SourceContext): RequestSpec {
  const a = auth(ctx.target);
  return {
    method: "GET",
    url: endpoint(ctx.target.api, "_events"),
    headers: { ...a.headers, accept: "text/event-stream" },
    secrets: a.secrets,
    longPoll: true,
    // Headers and the silence between two chunks: NapCat sends heartbeats, so a long silence is a dead stream.
    timeout: Math.max(3, ctx.pollTimeoutSeconds * 3) * 1000,
    retry: { statuses: [] },
    name: "_events",
  };
}

/** Splits an SSE byte stream into the data of each event (fields other than data are ignored). */
export async function* sseData(body: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new StringDecoder("utf8");
  let buf = "";
  let data: string[] = [];
  for await (const chunk of body) {
    buf += typeof chunk === "string" ? chunk : decoder.write(Buffer.from(chunk));
    const lines = buf.split(/\r\n|\r|\n/);
    buf = lines.pop()!;
    for (const line of lines) {
      if (line === "") {
        if (data.length > 0) yield data.join("\n");
        data = [];
      } else if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
    }
  }
}

export function startSse(ctx: SourceContext): ChainHandle {
  const failures = ctx.newFailures();
  const repeated = new RepeatedWarning(ctx.log);
  const request = sseRequest(ctx);
  const again = (delay = 0): Step => ({ request, readback, delay });
  let opened = 0;

  async function readback(res: StreamResponse): Promise<Step> {
    if (res.status === 401 || res.status === 403) return again(failures.authFailed(`_events: HTTP ${res.status}`));
    if (res.status === 404) {
      ctx.setStatus("unsupported", "_events: HTTP 404: enable NapCat's HTTP SSE server at this URL, or use events: long-poll / webhook");
      return again(ctx.authWait(1));
    }
    if (res.status !== 200) return again(failures.failed("retrying", `_events: HTTP ${res.status}: ${snippet(await res.text())}`, "_events"));
    if (++opened > 1) {
      ctx.log.warn("onebot11: SSE stream reopened; events sent while it was closed are not replayed: catching up from history");
      // Events on the new stream wait in it until the catch-up handed the gap over.
      await ctx.catchUp?.();
    }
    ctx.setStatus("online");
    let events = 0;
    for await (const data of sseData(res.body)) {
      let event: unknown;
      try {
        event = JSON.parse(data);
      } catch {
        repeated.warn("malformed", { data: snippet(data) }, "onebot11: malformed SSE event skipped");
        continue;
      }
      events++;
      failures.ok();
      await ctx.inbound.handle(event);
    }
    // A stream that carried events was healthy: reconnect at once; an empty one backs off.
    if (events > 0) return again(1);
    return again(failures.failed("retrying", "_events: the stream ended", "_events"));
  }

  return ctx.stream.add(request, readback, { name: "onebot11 _events", signal: ctx.signal, onError: onSourceError(ctx, failures, "_events") });
}
