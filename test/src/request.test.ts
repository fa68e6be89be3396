import { test } from "node:test";
import assert from "node:assert/strict";
import { prepareHop, redirectHop } from "../../src/request.ts";
import { RequestSpecError } from "../../src/index.ts";

test("defaults: GET, POST when a body is given, query appended, content types set", () => {
  const get = prepareHop({ url: "http://h/p?a=1", query: { b: 2, c: undefined, d: true } }, {});
  assert.equal(get.method, "GET");
  assert.equal(get.url.href, "http://h/p?a=1&b=2&d=true");
  assert.equal(get.url.path, "/p?a=1&b=2&d=true");
  assert.equal(get.url.origin, "http://h");
  const form = prepareHop({ url: "http://h/p", form: { r: '{"x":1}' } }, { "user-agent": "t" });
  assert.equal(form.method, "POST");
  assert.equal(form.body, "r=%7B%22x%22%3A1%7D");
  assert.equal(form.headers["content-type"], "application/x-www-form-urlencoded");
  assert.equal(form.headers["user-agent"], "t");
  const json = prepareHop({ url: "http://h/p", json: { a: 1 }, headers: { "Content-Type": "application/vnd+json" } }, {});
  assert.equal(json.body, '{"a":1}');
  assert.equal(json.headers["content-type"], "application/vnd+json");
});

test("bad specs fail with a clear RequestSpecError", () => {
  assert.throws(() => prepareHop({ url: "not a url" }, {}), RequestSpecError);
  assert.throws(() => prepareHop({ url: "ftp://h/x" }, {}), /unsupported protocol/);
  assert.throws(() => prepareHop({ url: "http://h/", form: {}, json: {} }, {}), /more than one/);
  assert.throws(() => prepareHop({ url: "http://h/", method: "GET", body: "x" }, {}), /cannot have a body/);
});

test("redirects change methods the way browsers do", () => {
  const post = prepareHop({ url: "http://h/a", form: { a: "1" } }, {});
  for (const [status, method, body] of [
    [301, "GET", undefined],
    [302, "GET", undefined],
    [303, "GET", undefined],
    [307, "POST", "a=1"],
    [308, "POST", "a=1"],
  ] as const) {
    const next = redirectHop(post, status, "/b")!;
    assert.equal(next.method, method, `status ${status}`);
    assert.equal(next.body, body);
    assert.equal(next.url.href, "http://h/b");
    assert.equal(next.headers["content-type"], body === undefined ? undefined : "application/x-www-form-urlencoded");
  }
  const put = prepareHop({ url: "http://h/a", method: "PUT", body: "x" }, {});
  assert.equal(redirectHop(put, 302, "/b")!.method, "PUT");
  assert.equal(redirectHop(put, 303, "/b")!.method, "GET");
  const head = prepareHop({ url: "http://h/a", method: "HEAD" }, {});
  assert.equal(redirectHop(head, 303, "/b")!.method, "HEAD");
});

test("hand-set credentials do not cross origins; a bad Location gives undefined", () => {
  const hop = prepareHop({ url: "http://h/a", headers: { Authorization: "Bearer T", Cookie: "x=1" } }, {});
  const same = redirectHop(hop, 302, "/b")!;
  assert.equal(same.headers.authorization, "Bearer T");
  assert.equal(same.userCookie, "x=1");
  const other = redirectHop(hop, 302, "http://other/b")!;
  assert.equal(other.headers.authorization, undefined);
  assert.equal(other.headers.cookie, undefined);
  assert.equal(other.userCookie, undefined);
  assert.equal(redirectHop(hop, 302, "javascript:alert(1)"), undefined);
  assert.equal(redirectHop(hop, 302, "http://[bad"), undefined);
});
