/**
 * BigInt arithmetic for RSA, DSA and finite-field Diffie-Hellman: modular
 * exponentiation, inverses and random numbers in a range.
 *
 * Why not WebCrypto: the engine is synchronous and WebCrypto is not. Why not
 * Montgomery or Barrett reduction: measured on Node 24, Deno 2.9 and Bun 1.4, plain
 * `(a * b) % m` on native BigInt beats both written in BigInt for 1024..4096-bit
 * moduli (the runtime's division is already good; the extra shifts and masks cost more).
 *
 * Timing: BigInt operations are variable-time (their cost depends on operand sizes
 * and values), and the window table lookup is data-dependent. Callers that use secret
 * exponents blind both base and exponent (see `rsa.ts`).
 *
 * @module
 */

import type { RandomSource } from "../random.ts";
import { bytesToBigInt } from "../wire.ts";

/**
 * Number of significant bits of a non-negative bigint (0 for 0).
 *
 * @example
 * ```ts
 * import { bitLength } from "./bigint.ts";
 * console.log(bitLength(255n), bitLength(256n)); // 8 9
 * ```
 */
export function bitLength(x: bigint): number {
  if (x < 0n) throw new RangeError("bitLength() takes a non-negative value");
  if (x === 0n) return 0;
  const hex = x.toString(16);
  // 4 bits per hex digit, minus the leading zero bits of the first digit.
  return hex.length * 4 - (Math.clz32(parseInt(hex[0]!, 16)) - 28);
}

/** Window width for an exponent of `bits` bits (the thresholds OpenSSL uses). */
function windowBits(bits: number): number {
  if (bits > 671) return 6;
  if (bits > 239) return 5;
  if (bits > 79) return 4;
  if (bits > 23) return 3;
  return 1;
}

/**
 * `base ** exponent mod modulus` by left-to-right sliding-window exponentiation.
 *
 * @example
 * ```ts
 * import { modPow } from "./bigint.ts";
 * console.log(modPow(4n, 13n, 497n)); // 445n
 * ```
 */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  if (modulus <= 0n) throw new RangeError("modPow() needs a positive modulus");
  if (exponent < 0n) throw new RangeError("modPow() needs a non-negative exponent");
  if (modulus === 1n) return 0n;
  let b = base % modulus;
  if (b < 0n) b += modulus;
  if (exponent === 0n) return 1n;
  const bits = exponent.toString(2);
  const n = bits.length;
  const w = windowBits(n);
  // table[i] = b^(2i+1): the odd powers a window can end on.
  const table: bigint[] = [b];
  if (w > 1) {
    const b2 = (b * b) % modulus;
    for (let i = 1; i < 1 << (w - 1); i++) table.push((table[i - 1]! * b2) % modulus);
  }
  let r = 1n;
  let i = 0;
  while (i < n) {
    if (bits.charCodeAt(i) === 48 /* "0" */) {
      r = (r * r) % modulus;
      i++;
      continue;
    }
    // Longest window of at most w bits starting here that ends on a 1 bit.
    let j = Math.min(i + w, n);
    while (bits.charCodeAt(j - 1) === 48) j--;
    const value = parseInt(bits.slice(i, j), 2);
    for (let k = i; k < j; k++) r = (r * r) % modulus;
    r = (r * table[(value - 1) >> 1]!) % modulus;
    i = j;
  }
  return r;
}

/**
 * The greatest common divisor of two non-negative integers (Euclid).
 *
 * @example
 * ```ts
 * import { gcd } from "./bigint.ts";
 * console.log(gcd(12n, 18n)); // 6n
 * ```
 */
export function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * The inverse of `a` modulo `m` (extended Euclid). Throws RangeError when none exists.
 *
 * @example
 * ```ts
 * import { modInverse } from "./bigint.ts";
 * console.log(modInverse(3n, 11n)); // 4n
 * ```
 */
export function modInverse(a: bigint, m: bigint): bigint {
  if (m <= 0n) throw new RangeError("modInverse() needs a positive modulus");
  let r0 = a % m;
  if (r0 < 0n) r0 += m;
  let r1 = m;
  let x0 = 1n;
  let x1 = 0n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [x0, x1] = [x1, x0 - q * x1];
  }
  if (r0 !== 1n) throw new RangeError("modInverse(): the value is not invertible");
  return x0 < 0n ? x0 + m : x0;
}

/**
 * A uniformly distributed random integer in `[min, max]` (bias below 2^-64: it
 * reduces 64 extra random bits).
 *
 * @example
 * ```ts
 * import { randomBigIntInRange } from "./bigint.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const x = randomBigIntInRange(seededRandom(1), 2n, 100n);
 * console.log(x >= 2n && x <= 100n); // true
 * ```
 */
export function randomBigIntInRange(random: RandomSource, min: bigint, max: bigint): bigint {
  if (max < min) throw new RangeError("randomBigIntInRange() needs min <= max");
  const span = max - min + 1n;
  const bytes = Math.ceil((bitLength(span) + 64) / 8);
  return min + (bytesToBigInt(random(bytes)) % span);
}
