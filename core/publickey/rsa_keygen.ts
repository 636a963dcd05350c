/**
 * RSA key generation in pure BigInt (FIPS 186-5 §A.1.3 style): random probable
 * primes with the top two bits set (so n has exactly the requested size), a
 * small-prime sieve, then Miller-Rabin with random bases. Randomness is injected.
 *
 * @module
 */

import type { RandomSource } from "../random.ts";
import { bytesToBigInt } from "../wire.ts";
import { bitLength, modInverse, modPow, randomBigIntInRange } from "./bigint.ts";
import type { RsaKeyMaterial } from "./types.ts";

/** Odd primes below this bound sieve candidates before any Miller-Rabin test. */
const SIEVE_BOUND = 1 << 14;
/** How far one random start is stepped (by 2) before drawing a new one. */
const MAX_STEPS = 1 << 16;
/**
 * Random starts (per prime) and prime pairs tried before giving up. A real source needs one
 * or two of each (a window of 2^17 numbers holds a prime all but never misses); a broken one
 * (constant bytes, short reads) would otherwise loop forever.
 */
const MAX_DRAWS = 64;

let smallPrimes: Uint32Array | undefined;
function getSmallPrimes(): Uint32Array {
  if (!smallPrimes) {
    const composite = new Uint8Array(SIEVE_BOUND);
    const list: number[] = [];
    for (let i = 3; i < SIEVE_BOUND; i += 2) {
      if (composite[i]) continue;
      list.push(i);
      for (let j = i * i; j < SIEVE_BOUND; j += 2 * i) composite[j] = 1;
    }
    smallPrimes = Uint32Array.from(list);
  }
  return smallPrimes;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Miller-Rabin rounds for an error probability below 2^-100 (FIPS 186-5 Table B.1). */
function mrRounds(bits: number): number {
  if (bits >= 1536) return 4;
  if (bits >= 1024) return 5;
  if (bits >= 512) return 8;
  return 40;
}

/**
 * Miller-Rabin probable-prime test with `rounds` random bases (base 2 first, as
 * a cheap filter).
 *
 * @example
 * ```ts
 * import { isProbablePrime } from "./rsa_keygen.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * console.log(isProbablePrime(2n ** 127n - 1n, 10, seededRandom(1))); // true
 * ```
 */
export function isProbablePrime(n: bigint, rounds: number, random: RandomSource): boolean {
  if (n < 2n) return false;
  if (n < 4n) return true;
  if ((n & 1n) === 0n) return false;
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  const nm1 = n - 1n;
  for (let i = 0; i <= rounds; i++) {
    const a = i === 0 ? 2n : randomBigIntInRange(random, 2n, n - 2n);
    let x = modPow(a, d, n);
    if (x === 1n || x === nm1) continue;
    let composite = true;
    for (let r = 1; r < s; r++) {
      x = (x * x) % n;
      if (x === nm1) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

/** A random prime of exactly `bits` bits, top two bits set, with gcd(p-1, e) = 1. */
function randomPrime(bits: number, e: bigint, random: RandomSource): bigint {
  const primes = getSmallPrimes();
  const bytes = Math.ceil(bits / 8);
  const rounds = mrRounds(bits);
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    let x = bytesToBigInt(random(bytes)) >> BigInt(bytes * 8 - bits);
    x |= 3n << BigInt(bits - 2); // top two bits: p*q then has exactly 2*bits bits
    x |= 1n;
    const residues = new Uint32Array(primes.length);
    for (let i = 0; i < primes.length; i++) residues[i] = Number(x % BigInt(primes[i]!));
    for (let delta = 0; delta < 2 * MAX_STEPS; delta += 2) {
      let ok = true;
      for (let i = 0; i < primes.length; i++) {
        if ((residues[i]! + delta) % primes[i]! === 0) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const p = x + BigInt(delta);
      if (bitLength(p) !== bits) break;
      if (gcd(p - 1n, e) !== 1n) continue;
      if (isProbablePrime(p, rounds, random)) return p;
    }
  }
  throw brokenRandom();
}

/** A RangeError: the random source given is not one (keys/ reports it as KeyGenerationError). */
function brokenRandom(): RangeError {
  return new RangeError(
    "Cannot generate RSA key: the random source gave no usable primes (is it random?)",
  );
}

/**
 * Generates an RSA key of `bits` bits (1024..16384, a multiple of 8) with public
 * exponent `e` (odd, at least 3, at most 2^256). Throws RangeError for other sizes.
 *
 * @example
 * ```ts
 * import { generateRsaKeyMaterial } from "./rsa_keygen.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const k = generateRsaKeyMaterial(1024, 65537n, seededRandom(1));
 * console.log(k.n.toString(2).length); // 1024
 * ```
 */
export function generateRsaKeyMaterial(
  bits: number,
  e: bigint,
  random: RandomSource,
): RsaKeyMaterial {
  if (!Number.isInteger(bits) || bits < 1024 || bits > 16384 || bits % 8 !== 0) {
    throw new RangeError(
      `Cannot generate RSA key: size ${bits} must be a multiple of 8 from 1024 to 16384 bits`,
    );
  }
  if (e < 3n || (e & 1n) === 0n || bitLength(e) > 256) {
    throw new RangeError(`Cannot generate RSA key: exponent ${e} must be odd, 3 .. 2^256`);
  }
  const pBits = bits >> 1;
  const qBits = bits - pBits;
  for (let pair = 0; pair < MAX_DRAWS; pair++) {
    const p = randomPrime(pBits, e, random);
    const q = randomPrime(qBits, e, random);
    // p and q must differ in their top 100 bits (FIPS 186-5 §A.1.3 step 5.4).
    const diff = p > q ? p - q : q - p;
    if (bitLength(diff) <= pBits - 100) continue;
    const n = p * q;
    if (bitLength(n) !== bits) continue;
    const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
    const d = modInverse(e, lambda);
    // A small d would be weak (Wiener); it never happens in practice, so retry.
    if (bitLength(d) <= pBits) continue;
    const [P, Q] = p > q ? [p, q] : [q, p];
    return {
      type: "rsa",
      n,
      e,
      d,
      p: P,
      q: Q,
      dp: d % (P - 1n),
      dq: d % (Q - 1n),
      qi: modInverse(Q, P),
    };
  }
  throw brokenRandom();
}
