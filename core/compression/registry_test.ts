import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHError } from "../errors.ts";
import {
  COMPRESSION_METHODS,
  createCompressor,
  createDecompressor,
  DEFAULT_COMPRESSION,
  isDelayedCompression,
  isSupportedCompression,
  SUPPORTED_COMPRESSION,
} from "./registry.ts";

test("SUPPORTED_COMPRESSION lists none, zlib@openssh.com and zlib", () => {
  assert.deepEqual([...SUPPORTED_COMPRESSION], ["none", "zlib@openssh.com", "zlib"]);
  assert.deepEqual([...DEFAULT_COMPRESSION], ["none", "zlib@openssh.com"]);
  assert.ok(Object.isFrozen(SUPPORTED_COMPRESSION) && Object.isFrozen(DEFAULT_COMPRESSION));
  assert.deepEqual(Object.values(COMPRESSION_METHODS).sort(), [...SUPPORTED_COMPRESSION].sort());
});

test("isSupportedCompression() and isDelayedCompression() classify names", () => {
  assert.ok(isSupportedCompression("zlib"));
  assert.ok(!isSupportedCompression("zlib@example.com"));
  assert.ok(isDelayedCompression("zlib@openssh.com"));
  assert.ok(!isDelayedCompression("zlib"));
  assert.ok(!isDelayedCompression("none"));
});

test("createCompressor() and createDecompressor() pair up for every method", () => {
  const payload = new TextEncoder().encode("exec uname -a".repeat(20));
  for (const name of SUPPORTED_COMPRESSION) {
    const c = createCompressor(name);
    const d = createDecompressor(name);
    assert.equal(c.name, name);
    assert.equal(d.name, name);
    for (let i = 0; i < 3; i++) assert.deepEqual(d.decompress(c.compress(payload), 1000), payload);
  }
});

test("createCompressor() passes the level on", () => {
  const c = createCompressor("zlib", { level: 1 });
  assert.equal(c.compress(new Uint8Array(1))[1], 0x01);
});

test("createCompressor() and createDecompressor() reject unknown names", () => {
  const unsupported = (e: unknown) =>
    e instanceof SSHError && e.code === "ERR_UNSUPPORTED_ALGORITHM" && /'lz4'/.test(e.message);
  assert.throws(() => createCompressor("lz4"), unsupported);
  assert.throws(() => createDecompressor("lz4"), unsupported);
});
