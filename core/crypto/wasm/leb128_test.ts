import { test } from "node:test";
import assert from "node:assert/strict";
import { writeSignedLeb128, writeUnsignedLeb128 } from "./leb128.ts";

function unsigned(v: number): number[] {
  const out: number[] = [];
  writeUnsignedLeb128(out, v);
  return out;
}

function signed(v: number | bigint): number[] {
  const out: number[] = [];
  writeSignedLeb128(out, v);
  return out;
}

test("writeUnsignedLeb128() encodes small, multi-byte and maximal values", () => {
  assert.deepEqual(unsigned(0), [0x00]);
  assert.deepEqual(unsigned(127), [0x7f]);
  assert.deepEqual(unsigned(128), [0x80, 0x01]);
  assert.deepEqual(unsigned(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(unsigned(0xffffffff), [0xff, 0xff, 0xff, 0xff, 0x0f]);
});

test("writeUnsignedLeb128() rejects negatives, fractions and values above 2^32 − 1", () => {
  for (const v of [-1, 1.5, 2 ** 32, NaN]) {
    assert.throws(() => unsigned(v), RangeError, String(v));
  }
});

test("writeSignedLeb128() encodes i32 values, including those above 2^31 as negatives", () => {
  assert.deepEqual(signed(0), [0x00]);
  assert.deepEqual(signed(63), [0x3f]);
  assert.deepEqual(signed(64), [0xc0, 0x00]); // bit 6 set: needs a second byte for the sign
  assert.deepEqual(signed(-1), [0x7f]);
  assert.deepEqual(signed(-64), [0x40]);
  assert.deepEqual(signed(-65), [0xbf, 0x7f]);
  assert.deepEqual(signed(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(signed(0x7fffffff), [0xff, 0xff, 0xff, 0xff, 0x07]);
  assert.deepEqual(signed(-0x80000000), [0x80, 0x80, 0x80, 0x80, 0x78]);
  assert.deepEqual(signed(0xffffffff), signed(-1));
  assert.throws(() => signed(2 ** 32), RangeError);
  assert.throws(() => signed(0.5), RangeError);
});

test("writeSignedLeb128() encodes i64 bigints across the whole range", () => {
  assert.deepEqual(signed(0x3ffffffn), [0xff, 0xff, 0xff, 0x1f]);
  assert.deepEqual(signed((1n << 63n) - 1n), [...Array(8).fill(0xff), 0xff, 0x00]);
  assert.deepEqual(signed(-(1n << 63n)), [...Array(9).fill(0x80), 0x7f]);
  assert.deepEqual(signed((1n << 64n) - 1n), signed(-1n));
  assert.throws(() => signed(1n << 64n), RangeError);
  assert.throws(() => signed(-(1n << 63n) - 1n), RangeError);
});
