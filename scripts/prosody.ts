// Starts the same Prosody the tests use, for humans: `node scripts/prosody.ts [--tls]`.
// Prints its service URL, users and MUC domain; runs until Ctrl-C, then removes its temp dir.
// --tls: STARTTLS required, plus direct TLS, with a self-signed certificate (verify_tls: false).
import { startProsody } from "../test/helpers/prosody.ts";

const users = { bridge: "bridgepw", alice: "alicepw", bob: "bobpw" };
const tls = process.argv.includes("--tls");
const server = await startProsody({ users, tls });
console.log(`service:   ${server.service}${tls ? " (STARTTLS required, self-signed: verify_tls: false)" : ""}`);
if (server.directTlsService) console.log(`direct:    ${server.directTlsService}`);
console.log(`domain:    ${server.domain}`);
console.log(`rooms:     <name>@${server.muc} (created on first join, no locking)`);
console.log(`component: ${server.component} on 127.0.0.1:${server.componentPort}, secret ${server.componentSecret}`);
for (const [name, pw] of Object.entries(users)) console.log(`user:      ${name}@${server.domain} / ${pw}`);
console.log(`data:      ${server.dir}  (Ctrl-C stops and removes it)`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
