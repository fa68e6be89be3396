import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_CACHED_NAMES, MemberNames, NAME_TTL_MS } from "../../../../bridge/networks/onebot12/members.ts";

test("the name cache is bounded: the least recently used member is forgotten first", async () => {
  const fetched: string[] = [];
  const names = new MemberNames(async (_g, u) => {
    fetched.push(u);
    return { user_name: `name-${u}` };
  });
  for (let i = 0; i < MAX_CACHED_NAMES + 50; i++) await names.get("g", String(i), 0);
  assert.equal(names.size, MAX_CACHED_NAMES);
  fetched.length = 0;
  // The newest entries are still cached; the oldest was evicted and is fetched again.
  assert.equal(await names.get("g", String(MAX_CACHED_NAMES + 49), 1), `name-${MAX_CACHED_NAMES + 49}`);
  assert.deepEqual(fetched, []);
  assert.equal(await names.get("g", "0", 1), "name-0");
  assert.deepEqual(fetched, ["0"]);
  assert.equal(names.size, MAX_CACHED_NAMES);
});

test("a member looked up recently survives eviction; a stale name is still refetched", async () => {
  let calls = 0;
  const names = new MemberNames(async (_g, u) => {
    calls++;
    return { user_name: `n${u}` };
  });
  await names.get("g", "keep", 0);
  for (let i = 0; i < MAX_CACHED_NAMES - 1; i++) await names.get("g", String(i), 0);
  await names.get("g", "keep", 1); // a hit moves it to the young end
  await names.get("g", "new", 1); // evicts "0", not "keep"
  const before = calls;
  await names.get("g", "keep", 2);
  assert.equal(calls, before);
  await names.get("g", "keep", NAME_TTL_MS + 1);
  assert.equal(calls, before + 1);
});
