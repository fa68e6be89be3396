import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCliArgs, UsageError } from "../../../bridge/cli/args.ts";

test("-c FILE beats $POLLBRIDGE_CONFIG, which beats ./pollbridge.yaml; paths resolve against cwd", () => {
  assert.deepEqual(parseCliArgs(["check"], {}, "/srv"), { kind: "command", command: "check", config: "/srv/pollbridge.yaml" });
  assert.deepEqual(parseCliArgs(["run"], { POLLBRIDGE_CONFIG: "etc/pb.yaml" }, "/srv"), { kind: "command", command: "run", config: "/srv/etc/pb.yaml" });
  assert.deepEqual(parseCliArgs(["run", "-c", "/a.yaml"], { POLLBRIDGE_CONFIG: "b.yaml" }, "/srv"), { kind: "command", command: "run", config: "/a.yaml" });
  assert.deepEqual(parseCliArgs(["--config=x.yaml", "check"], {}, "/srv"), { kind: "command", command: "check", config: "/srv/x.yaml" });
});

test("login takes exactly one NETWORK; demo passes its arguments through", () => {
  assert.deepEqual(parseCliArgs(["login", "qq"], {}, "/"), { kind: "command", command: "login", config: "/pollbridge.yaml", network: "qq" });
  assert.throws(() => parseCliArgs(["login"], {}, "/"), /login needs a NETWORK/);
  assert.throws(() => parseCliArgs(["login", "a", "b"], {}, "/"), /one NETWORK/);
  assert.deepEqual(parseCliArgs(["demo", "--messages", "5", "-x"], {}, "/"), { kind: "command", command: "demo", rest: ["--messages", "5", "-x"] });
});

test("--help and --version win; bad usage is a UsageError", () => {
  assert.deepEqual(parseCliArgs(["run", "--help"], {}, "/"), { kind: "help" });
  assert.deepEqual(parseCliArgs(["-V"], {}, "/"), { kind: "version" });
  for (const argv of [[], ["bogus"], ["run", "--nope"], ["check", "extra"], ["run", "-c"]]) {
    assert.throws(() => parseCliArgs(argv, {}, "/"), UsageError, JSON.stringify(argv));
  }
});
