import { test } from "node:test";
import assert from "node:assert/strict";
import { transportSendKind } from "../../../../bridge/networks/shared/request-sent.ts";

test("transportSendKind: requestSent when the error (or a cause) carries it, else before-send codes only are 'retry'", () => {
  const reset = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
  assert.equal(transportSendKind(reset), "unknown");
  assert.equal(transportSendKind(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })), "retry");
  // Known, not guessed: HTTPStream says the request never fully left.
  assert.equal(transportSendKind(Object.assign(new Error("socket closed while writing"), { code: "UND_ERR_SOCKET", requestSent: false })), "retry");
  assert.equal(transportSendKind(new Error("wrapped", { cause: Object.assign(new Error("x"), { requestSent: false }) })), "retry");
  assert.equal(transportSendKind(Object.assign(new Error("timeout"), { code: "UND_ERR_HEADERS_TIMEOUT", requestSent: true })), "unknown");
  assert.equal(transportSendKind(new Error("no code at all")), "unknown");
  assert.equal(transportSendKind("a string"), "unknown");
});
