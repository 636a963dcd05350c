/**
 * BigInt number theory for RSA: modular exponentiation, inverse, gcd, bit length.
 * Internal to keys/.
 *
 * @module
 */

/** Number of bits in a non-negative bigint (0 → 0). */
export function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** base^exp mod m, left-to-right square and multiply. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  let result = 1n;
  let b = ((base % m) + m) % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    e >>= 1n;
    if (e > 0n) b = (b * b) % m;
  }
  return result;
}

/** Greatest common divisor. */
export function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** a^-1 mod m, or undefined when a and m are not coprime. */
export function modInverse(a: bigint, m: bigint): bigint | undefined {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) return undefined;
  return ((oldS % m) + m) % m;
}
