import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError } from "../errors.ts";
import { CompressionError } from "./compression_error.ts";
import { NoneCompressor, NoneDecompressor } from "./none.ts";

test("NoneCompressor.compress() returns the payload itself", () => {
  const p = new Uint8Array([5, 6, 7]);
  assert.equal(new NoneCompressor().compress(p), p);
});

test("NoneDecompressor.decompress() passes data through up to maxOutput", () => {
  const d = new NoneDecompressor();
  const p = new Uint8Array(10);
  assert.equal(d.decompress(p, 10), p);
  assert.throws(() => d.decompress(p, 9), CompressionError);
  assert.throws(() => d.decompress(p, -1), LocalProtocolError);
});
