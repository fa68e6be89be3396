#!/usr/bin/env node
// Published installs run the compiled dist/; a checkout runs the TypeScript sources directly
// (Node >= 24 strips types, but never inside node_modules).
import { existsSync } from "node:fs";
const built = new URL("../dist/bridge/cli/main.js", import.meta.url);
await import(existsSync(built) ? built.href : new URL("../bridge/cli/main.ts", import.meta.url).href);
