import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelOpenError } from "./errors.ts";

test("ChannelOpenError escapes the peer's description in its message", () => {
  const e = new ChannelOpenError(1, "nope\x1b]0;title\x07");
  assert.equal(e.message, "Channel open refused (reason 1): nope\\x1b]0;title\\x07");
  assert.equal(e.reason, 1);
  assert.equal(
    new ChannelOpenError(2, "").message,
    "Channel open refused (reason 2): no description",
  );
});
