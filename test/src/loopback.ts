// A real node:http server on a free loopback port, for HTTPStream tests.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Loopback {
  /** http://127.0.0.1:PORT */
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

export async function listen(handler: http.RequestListener): Promise<Loopback> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A server that answers every request with `status` and `body`, counting the requests. */
export async function fixedStatus(status: number, body: string): Promise<Loopback & { hits: number }> {
  const counted = { hits: 0 } as Loopback & { hits: number };
  const lb = await listen((_req, res) => {
    counted.hits++;
    res.writeHead(status).end(body);
  });
  return Object.assign(counted, lb);
}

/** A promise with its resolve function outside: the test's synchronisation point. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves after `n` calls of the returned `hit` function. */
export function countdown(n: number): { reached: Promise<void>; hit: () => void } {
  const s = deferred();
  let left = n;
  if (left <= 0) s.resolve();
  return {
    reached: s.promise,
    hit: () => {
      if (--left === 0) s.resolve();
    },
  };
}

/** A free loopback port with nothing listening on it (for ECONNREFUSED). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function readBody(req: http.IncomingMessage): Promise<string> {
  let s = "";
  for await (const chunk of req) s += chunk;
  return s;
}
