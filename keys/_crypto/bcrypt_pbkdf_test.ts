import { test } from "node:test";
import assert from "node:assert/strict";
import { bcryptPbkdf } from "./bcrypt_pbkdf.ts";
import { PI_HEX_DIGITS } from "../../core/crypto/blowfish_pi.ts";

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// OpenBSD's regress vectors for bcrypt_pbkdf (also used by other implementations).
const VECTORS: [string, string, number, string][] = [
  ["password", "salt", 4, "5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9"],
  ["password", "\0", 4, "c12b566235eee04c212598970a579a67"],
  ["\0", "salt", 4, "6051be18c2f4f82cbf0efee5471b4bb9"],
  [
    "password\0",
    "salt\0",
    4,
    "7410e44cf4fa07bfaac8a928b1727fac001375e7bf7384370f48efd121743050",
  ],
];

test("bcryptPbkdf() matches the OpenBSD test vectors", () => {
  for (const [pw, salt, rounds, want] of VECTORS) {
    const got = bcryptPbkdf(enc.encode(pw), enc.encode(salt), want.length / 2, rounds);
    assert.equal(hex(got), want, `password ${JSON.stringify(pw)}`);
  }
});

test("bcryptPbkdf() rejects zero rounds and oversized keys", () => {
  assert.throws(() => bcryptPbkdf(enc.encode("p"), enc.encode("s"), 32, 0), RangeError);
  assert.throws(() => bcryptPbkdf(enc.encode("p"), enc.encode("s"), 1025, 1), RangeError);
});

test("PI_HEX_DIGITS are the fractional hex digits of pi", () => {
  // Machin: pi = 16 atan(1/5) - 4 atan(1/239), in fixed point with guard bits.
  const digits = PI_HEX_DIGITS.length;
  const bits = BigInt(digits * 4 + 64);
  const one = 1n << bits;
  const atanInv = (x: bigint) => {
    let sum = 0n, term = one / x, n = 1n, sign = 1n;
    while (term !== 0n) {
      sum += sign * (term / n);
      term /= x * x;
      n += 2n;
      sign = -sign;
    }
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  const frac = ((pi - 3n * one) >> 64n).toString(16).padStart(digits, "0");
  assert.equal(PI_HEX_DIGITS.length, 1042 * 8);
  assert.equal(frac, PI_HEX_DIGITS);
});
