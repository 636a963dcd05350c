import { test } from "node:test";
import assert from "node:assert/strict";
import { SFTPStatus } from "./constants.ts";
import { SFTPError } from "./errors.ts";

test("SFTPError escapes the peer's text in its message and keeps it as sent in peerMessage", () => {
  const e = new SFTPError(SFTPStatus.FAILURE, "no\x1b[2Jway", { path: "/x", operation: "open" });
  assert.equal(e.message, 'open "/x" failed: no\\x1b[2Jway (FAILURE)');
  assert.equal(e.peerMessage, "no\x1b[2Jway");
  // Without a peer message, the status's own text.
  assert.match(new SFTPError(SFTPStatus.NO_SUCH_FILE).message, /No such file/);
});
