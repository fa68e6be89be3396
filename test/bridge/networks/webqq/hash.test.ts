import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bkn, groupListHash, hash33 } from "../../../../bridge/networks/webqq/hash.ts";

test("reference test vectors (protocols.md §1.3)", () => {
  assert.equal(
    groupListHash(123456789, "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2"),
    "0642081802820A5E",
  );
  assert.equal(groupListHash(3000000000, "ptwebqq"), "12F705930611654B");
  assert.equal(hash33("hJ9GvNx*oIvLjP5I5dQ19KPa3zwxNI62eALLO*g2JLbKPYsZIRsnbJIxNe74NzQQ"), 1178303247);
  assert.equal(bkn("@uqacxdTvl"), 1488209665);
});

// The Python reference uses unbounded integers and masks at the end: compare with BigInt.
function hash33Big(s: string, start = 0n): number {
  let e = start;
  for (const ch of s) e += (e << 5n) + BigInt(ch.codePointAt(0)!);
  return Number(e & 0x7fffffffn);
}

test("hash33 and bkn equal the unbounded-integer reference for any ASCII string", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 200 }), (s) => {
      assert.equal(hash33(s), hash33Big(s));
      assert.equal(bkn(s), hash33Big(s, 5381n));
    }),
  );
});

test("groupListHash is 16 upper-case hex characters for any uin and hex ptwebqq", () => {
  fc.assert(
    fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.stringMatching(/^[0-9a-f]{1,64}$/), (uin, p) => {
      assert.match(groupListHash(uin, p), /^[0-9A-F]{16}$/);
    }),
  );
});
