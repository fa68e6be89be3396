import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { originIdFor } from "../../../bridge/store/origin-id.ts";

test("the same message, target and part always give the same origin-id", () => {
  assert.equal(originIdFor("net:qq:1", "xmpp:r@c", 0), originIdFor("net:qq:1", "xmpp:r@c", 0));
  assert.match(originIdFor("net:qq:1", "xmpp:r@c", 0), /^pb-[A-Za-z0-9_-]{24}$/);
});

test("any difference in message, target or part gives a different origin-id", () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.nat(20), fc.string(), fc.string(), fc.nat(20), (k1, t1, p1, k2, t2, p2) => {
      fc.pre(k1 !== k2 || t1 !== t2 || p1 !== p2);
      fc.pre(!k1.includes("\n") && !k2.includes("\n") && !t1.includes("\n") && !t2.includes("\n"));
      assert.notEqual(originIdFor(k1, t1, p1), originIdFor(k2, t2, p2));
    }),
  );
});
