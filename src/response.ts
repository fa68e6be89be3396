// The response a readback sees: status, headers, and a body read at most once.
import type { Readable } from "node:stream";
import type { RequestSpec, StreamResponse } from "./types.ts";

/** The part of undici's BodyReadable HTTPStream relies on. */
export interface BodySource extends Readable {
  readonly bodyUsed: boolean;
  text(): Promise<string>;
  json(): Promise<unknown>;
  bytes(): Promise<Uint8Array>;
  dump(opts?: { limit: number }): Promise<void>;
}

export class HTTPResponse implements StreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly url: string;
  readonly request: RequestSpec;
  readonly body: BodySource;

  constructor(status: number, headers: Record<string, string | string[] | undefined>, url: string, request: RequestSpec, body: BodySource) {
    this.status = status;
    this.headers = headers;
    this.url = url;
    this.request = request;
    this.body = body;
  }

  text(): Promise<string> {
    return this.body.text();
  }

  json<T = unknown>(): Promise<T> {
    return this.body.json() as Promise<T>;
  }

  bytes(): Promise<Uint8Array> {
    return this.body.bytes();
  }
}

/** Frees the connection of a body nobody read; never throws. */
export function discardBody(body: BodySource): Promise<void> | undefined {
  if (body.bodyUsed || body.destroyed) return undefined;
  return body.dump().catch(() => undefined);
}
