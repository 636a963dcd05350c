import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { bytesToBigInt } from "../wire.ts";
import { bitLength, modInverse, modPow, randomBigIntInRange } from "./bigint.ts";

function naivePow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n % m;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

test("modPow() agrees with square-and-multiply for random operands of many sizes", () => {
  const rnd = seededRandom(5);
  for (const bits of [8, 24, 25, 80, 81, 240, 241, 672, 673, 1024]) {
    const m = bytesToBigInt(rnd(Math.ceil(bits / 8) + 1)) | 1n;
    const b = bytesToBigInt(rnd(Math.ceil(bits / 8) + 2));
    const e = bytesToBigInt(rnd(Math.ceil(bits / 8)));
    assert.equal(modPow(b, e, m), naivePow(b, e, m), `${bits} bits`);
  }
});

test("modPow() handles the edge cases: exponent 0, modulus 1, negative base", () => {
  assert.equal(modPow(5n, 0n, 7n), 1n);
  assert.equal(modPow(5n, 3n, 1n), 0n);
  assert.equal(modPow(-2n, 3n, 7n), 6n);
  assert.throws(() => modPow(2n, 3n, 0n), RangeError);
  assert.throws(() => modPow(2n, -1n, 7n), RangeError);
});

test("modInverse() inverts and refuses non-invertible values", () => {
  const m = (1n << 127n) - 1n;
  const a = 123456789123456789n;
  assert.equal((a * modInverse(a, m)) % m, 1n);
  assert.equal(modInverse(-3n, 11n), 7n);
  assert.throws(() => modInverse(6n, 9n), RangeError);
});

test("bitLength() counts significant bits", () => {
  assert.deepEqual([0n, 1n, 2n, 15n, 16n, (1n << 521n) - 1n].map(bitLength), [0, 1, 2, 4, 5, 521]);
});

test("randomBigIntInRange() stays in range and covers it", () => {
  const rnd = seededRandom(6);
  const seen = new Set<bigint>();
  for (let i = 0; i < 300; i++) {
    const v = randomBigIntInRange(rnd, 3n, 12n);
    assert.ok(v >= 3n && v <= 12n);
    seen.add(v);
  }
  assert.equal(seen.size, 10);
});
