// Starts the same Prosody the tests use, for humans: `node scripts/prosody.ts [--port N]`.
// Prints its service URL, users and MUC domain; runs until Ctrl-C, then removes its temp dir.
import { startProsody } from "../test/helpers/prosody.ts";

const users = { bridge: "bridgepw", alice: "alicepw", bob: "bobpw" };
const server = await startProsody({ users });
console.log(`service:   ${server.service}`);
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
