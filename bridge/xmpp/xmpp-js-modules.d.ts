// Types for the xmpp.js parts that ship none (and @types/xmpp__* does not cover), with only what
// bridge/xmpp/xmpp-js.ts and tls-plugins.ts use.
declare module "@xmpp/connection-tcp" {
  export default class ConnectionTCP {
    Socket: unknown;
    socketParameters(service: string): { port: number | null; host: string } | undefined;
  }
}
declare module "@xmpp/connection-tcp/Socket.js" {
  import { Socket } from "node:net";
  export default class PlainSocket extends Socket {
    secure: boolean;
  }
}
declare module "@xmpp/tcp/lib/Connection.js" {
  import ConnectionTCP from "@xmpp/connection-tcp";
  export default class ConnectionClientTCP extends ConnectionTCP {}
}
declare module "@xmpp/tls/lib/Connection.js" {
  import ConnectionTCP from "@xmpp/connection-tcp";
  export default class ConnectionTLS extends ConnectionTCP {}
}
declare module "@xmpp/tls/lib/Socket.js" {
  import { EventEmitter } from "node:events";
  export default class TlsSocket extends EventEmitter {
    secure: boolean;
    connect(options: object): void;
  }
}
declare module "saslmechanisms" {
  export default class SASLFactory {
    use(mechanism: unknown): this;
  }
}
declare module "@xmpp/sasl-scram-sha-1" {
  export default function scramSha1(factory: object): void;
}
declare module "@xmpp/sasl-plain" {
  export default function plain(factory: object): void;
}
declare module "@xmpp/websocket/lib/Connection.js" {
  export default class ConnectionWebSocket {
    Socket: unknown;
  }
}
declare module "@xmpp/websocket/lib/Socket.js" {
  import { EventEmitter } from "node:events";
  export default class WebSocketSocket extends EventEmitter {
    secure: boolean;
    connect(url: string): void;
  }
}
