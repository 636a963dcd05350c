import { test } from "node:test";
import assert from "node:assert/strict";
import { freeOwned, isTransient, markTransient, releaseTransient } from "./transient_buffers.ts";

test("releaseTransient frees a marked buffer once and leaves every other buffer alone", () => {
  const packet = new Uint8Array(32 * 1024 + 40).fill(7);
  const data = packet.subarray(9, 9 + 32 * 1024); // a payload view of a decrypted packet
  markTransient(data);
  assert.ok(isTransient(data));
  const copy = data.slice();
  assert.equal(releaseTransient(data), true);
  assert.equal(packet.buffer.byteLength, 0, "the memory is gone (detached)");
  assert.equal(data.length, 0);
  assert.equal(copy.length, 32 * 1024, "copies made before are untouched");
  assert.equal(copy[0], 7);
  assert.equal(releaseTransient(data), false, "a second release is a no-op");
  assert.ok(!isTransient(data));

  const unmarked = new Uint8Array(1024);
  assert.equal(releaseTransient(unmarked), false);
  assert.equal(unmarked.length, 1024, "unmarked buffers are never detached");
});

test("markTransient refuses views into a buffer shared with other data", () => {
  // Like Node's Buffer pool: small buffers carved out of one 8 KiB slab.
  const slab = new ArrayBuffer(8192);
  const a = new Uint8Array(slab, 0, 100);
  const b = new Uint8Array(slab, 100, 100).fill(1);
  markTransient(a);
  assert.ok(!isTransient(a));
  assert.equal(releaseTransient(a), false);
  assert.equal(b[0], 1, "the neighbour's bytes survive");
  assert.equal(slab.byteLength, 8192);
});

test("freeOwned frees a whole buffer the caller made, never a view into a larger one", () => {
  const whole = new Uint8Array(4096).fill(3);
  freeOwned(whole);
  assert.equal(whole.length, 0);
  const big = new Uint8Array(4096).fill(3);
  const part = big.subarray(16, 32);
  freeOwned(part);
  assert.equal(part.length, 16, "a view is left alone");
  assert.equal(big[0], 3);
  const ab = new ArrayBuffer(64);
  freeOwned(ab);
  assert.equal(ab.byteLength, 0);
});
