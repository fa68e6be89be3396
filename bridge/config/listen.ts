// "host:port" listen addresses (metrics.listen, webhook listen): "127.0.0.1:9464", "[::1]:9464".

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses "host:port"; throws an Error saying what is wrong. Port 0 picks a free port. */
export function parseListen(listen: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  if (!m) throw new Error(`"${listen}" is not host:port (e.g. 127.0.0.1:9464 or [::1]:9464)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port ${port} is out of range (0-65535)`);
  return { host: m[1] ?? m[2]!, port };
}
