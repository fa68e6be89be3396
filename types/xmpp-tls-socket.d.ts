// @xmpp/tls ships no types; bridge/xmpp/xmpp-js.ts wraps its TLS socket's connect().
declare module "@xmpp/tls/lib/Socket.js" {
  const Socket: { prototype: { connect(...args: any[]): void } };
  export default Socket;
}
