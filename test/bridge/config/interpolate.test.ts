import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { interpolate, interpolateString, referencesEnv } from "../../../bridge/config/interpolate.ts";

test("${VAR} takes the variable's value", () => {
  assert.deepEqual(interpolateString("a${X}b", { X: "1" }, ["k"]), { value: "a1b", problems: [] });
});

test("an unset ${VAR} is a problem at that path, naming the variable", () => {
  const r = interpolate({ xmpp: { password: "${XMPP_PASSWORD}" } }, {});
  assert.deepEqual(r.problems, [{ path: "xmpp.password", message: "environment variable XMPP_PASSWORD is not set" }]);
});

test("${VAR:-default} uses the default when unset or empty, the value otherwise", () => {
  assert.equal(interpolateString("${P:-5222}", {}, []).value, "5222");
  assert.equal(interpolateString("${P:-5222}", { P: "" }, []).value, "5222");
  assert.equal(interpolateString("${P:-5222}", { P: "1" }, []).value, "1");
  assert.equal(interpolateString("${P:-}", {}, []).value, "");
});

test("$${ is a literal ${ and is not looked up", () => {
  const r = interpolateString("$${HOME} and ${A}", { A: "x" }, []);
  assert.deepEqual(r, { value: "${HOME} and x", problems: [] });
  assert.equal(referencesEnv("$${HOME}"), false);
  assert.equal(referencesEnv("pre${HOME}"), true);
});

test("malformed references are problems", () => {
  assert.match(interpolateString("${A", {}, ["x"]).problems[0]!.message, /unterminated/);
  assert.match(interpolateString("${1A}", {}, ["x"]).problems[0]!.message, /invalid variable reference/);
});

test("values are substituted per scalar: YAML-special characters in a variable stay data", () => {
  const r = interpolate({ a: ["${V}", 3, true, null], b: { c: "${V}" } }, { V: 'x: "y" # z\n- w' });
  assert.deepEqual(r.value, { a: ['x: "y" # z\n- w', 3, true, null], b: { c: 'x: "y" # z\n- w' } });
  assert.deepEqual(r.problems, []);
});

test("property: any value of a variable comes through unchanged; text without ${ is untouched", () => {
  fc.assert(
    fc.property(fc.string(), fc.string().filter((s) => !s.includes("$")), (val, plain) => {
      assert.equal(interpolateString(`${plain}\${V}${plain}`, { V: val }, []).value, `${plain}${val}${plain}`);
      assert.deepEqual(interpolate(plain, {}).value, plain);
    }),
  );
});
