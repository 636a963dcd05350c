import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError, DisconnectReason, protocolError, withoutStack } from "./errors.ts";

test("protocolError() builds a PROTOCOL_ERROR DisconnectError carrying detail, got and expected", () => {
  const e = protocolError("unexpected-message", "Unexpected message 94", {
    got: 94,
    expected: ["KEXINIT"],
  });
  assert.ok(e instanceof DisconnectError);
  assert.equal(e.code, "ERR_PROTOCOL");
  assert.equal(e.reason, DisconnectReason.PROTOCOL_ERROR);
  assert.equal(e.detail, "unexpected-message");
  assert.equal(e.got, 94);
  assert.deepEqual(e.expected, ["KEXINIT"]);
  assert.equal(e.fromPeer, false);
  const s = protocolError("kexinit-not-first", "Strict kex", { code: "ERR_STRICT_KEX" });
  assert.equal(s.code, "ERR_STRICT_KEX");
  assert.equal(s.got, undefined);
  assert.equal(s.expected, undefined);
});

test("withoutStack() builds the error without stack frames and restores the limit", () => {
  const limit = (Error as { stackTraceLimit?: number }).stackTraceLimit;
  const e = withoutStack(() =>
    new DisconnectError("ERR_BY_APPLICATION", DisconnectReason.BY_APPLICATION, "Bye")
  );
  assert.equal(e.message, "Bye");
  assert.ok(!/\n\s+at /.test(e.stack ?? ""), `no frames expected in ${e.stack}`);
  assert.equal((Error as { stackTraceLimit?: number }).stackTraceLimit, limit);
  assert.match(new Error("x").stack ?? "", /\n\s+at /);
});
