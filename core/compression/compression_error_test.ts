import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError, DisconnectReason, SSHError } from "../errors.ts";
import { CompressionError } from "./compression_error.ts";

test("CompressionError carries ERR_COMPRESSION and the COMPRESSION_ERROR reason", () => {
  const e = new CompressionError("Cannot decompress packet: bad data");
  assert.ok(e instanceof DisconnectError && e instanceof SSHError);
  assert.equal(e.code, "ERR_COMPRESSION");
  assert.equal(e.reason, DisconnectReason.COMPRESSION_ERROR);
  assert.equal(e.fromPeer, false);
  assert.equal(e.name, "CompressionError");
});
