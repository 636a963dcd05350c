/**
 * Streamlined NTRU Prime sntrup761 (p = 761, q = 4591, w = 286), the KEM of
 * OpenSSH's `sntrup761x25519-sha512` key exchange, written from the NTRU Prime
 * round-3 specification. Byte for byte it matches the SUPERCOP / NTRU Prime
 * reference that OpenSSH ships (`sntrup761.c`): SHA-512 based hashing, public
 * keys of 1158 bytes, secret keys of 1763, ciphertexts of 1039 and 32-byte
 * shared secrets, and the same consumption of random bytes (a 32-bit
 * little-endian word per coefficient), so a seeded source reproduces the
 * reference's keys and ciphertexts.
 *
 * Pure code over typed arrays; randomness is injected. The two reciprocals and
 * the products — nearly all of the work — run as WebAssembly SIMD kernels
 * where the engine has them (`sntrup761_wasm.ts`: a key pair in about 1 ms
 * instead of 4–9); the TypeScript versions here are the fallback, give the
 * same bytes, and are what `setWasmKernelsEnabled(false)` keeps. The kernels
 * keep the same rules below: branches and addresses depend on the public
 * sizes and loop counters only.
 *
 * Constant time: decapsulation and the secret-dependent parts of key
 * generation and encapsulation have no branches, early exits or memory
 * indices that depend on secret data (masks replace ifs, the sort is a fixed
 * sorting network, the inversions run a fixed number of divsteps). JavaScript
 * itself promises nothing about timing: the JIT may compile a masked select
 * into a branch, deoptimise on unexpected values, or take variable time for
 * `Math.floor` on unusual operands. Treat this as "constant-time in
 * structure", the best a JavaScript engine allows. Key generation retries
 * when a random `g` is not invertible mod 3, as the reference does; that
 * reveals only how many discarded candidates there were.
 *
 * @module
 */

import { kexDigest } from "../kex/hash.ts";
import { concatBytes } from "../wire.ts";
import { checkLength, drawRandom, PqInputError, type RandomBytes } from "./errors.ts";
import {
  multiply,
  r3Coefficient,
  type Sntrup761Kernels,
  sntrup761Kernels,
  writeR3Start,
} from "./sntrup761_wasm.ts";

export { PqInputError };
export type { RandomBytes };

/** Size of an sntrup761 public key in bytes. */
export const SNTRUP761_PUBLIC_KEY_BYTES = 1158;
/** Size of an sntrup761 secret key in bytes (f, 1/g, the public key, rho and a hash of the public key). */
export const SNTRUP761_SECRET_KEY_BYTES = 1763;
/** Size of an sntrup761 ciphertext in bytes (rounded encoding plus a 32-byte confirmation hash). */
export const SNTRUP761_CIPHERTEXT_BYTES = 1039;
/** Size of an sntrup761 shared secret in bytes. */
export const SNTRUP761_SHARED_SECRET_BYTES = 32;

// ---------------------------------------------------------------------------
// Parameters

const P = 761;
const Q = 4591;
const W = 286;
const Q12 = (Q - 1) / 2; // 2295
const QINV = 1 / Q;
const SMALL_BYTES = (P + 3) >> 2; // 191
const RQ_BYTES = SNTRUP761_PUBLIC_KEY_BYTES; // 1158
const ROUNDED_BYTES = 1007;
const HASH_BYTES = 32;
const RANDOM_WORDS_BYTES = 4 * P; // one 32-bit word per coefficient

// ---------------------------------------------------------------------------
// Field arithmetic. Values are small integers, so plain JS numbers are exact.

/** x mod 3 in {-1, 0, 1}, for |x| < 2^14 (the reference's F3_freeze). */
function freeze3(x: number): number {
  return x - 3 * ((10923 * x + 16384) >> 15);
}

/**
 * x mod q in [-(q-1)/2, (q-1)/2], for |x| < 2^40. x/q is never within 1/(2q) of
 * a half-integer (q is odd), far more than the rounding error of x * (1/q), so
 * floor(x/q + 1/2) is exact.
 */
function freezeQ(x: number): number {
  return x - Q * Math.floor(x * QINV + 0.5);
}

/** -1 when x != 0, else 0 (x a small int32). */
function nonzeroMask(x: number): number {
  return (x | -x) >> 31;
}

/** -1 when x < 0, else 0 (x an int32). */
function negativeMask(x: number): number {
  return x >> 31;
}

/** a^(q-2) = 1/a in Fq (0 for 0), by a fixed square-and-multiply chain. */
function fqRecip(a: number): number {
  // q - 2 = 4589 = 0b1000111101101; the exponent is public, so its bits may branch.
  const e = Q - 2;
  let result = 1;
  for (let bit = 12; bit >= 0; bit--) {
    result = freezeQ(result * result);
    if ((e >> bit) & 1) result = freezeQ(result * a);
  }
  return result;
}

// ---------------------------------------------------------------------------
// Polynomial multiplication in Z[x]/(x^p - x - 1), reduced mod q or mod 3: the
// hot spot of the KEM. Schoolbook products with several coefficients packed
// into one double ("lanes"), so one multiply-add does the work of two or four;
// every partial sum is an exact integer below 2^53. No data-dependent branch:
// the loops and the lane decoding depend on the (public) sizes only.

const product = new Float64Array(8 * ((P + 3) / 4)); // 2p - 1 coefficients and slack

/** x^k for k >= p folds back as x^(k-p) (x + 1). */
function foldProduct(): void {
  for (let k = 2 * P - 2; k >= P; k--) {
    const c = product[k]!;
    product[k - P] = product[k - P]! + c;
    product[k - P + 1] = product[k - P + 1]! + c;
  }
}

// R/q: two lanes of 2^24. f[2k] + f[2k+1] * 2^24 times g[j] adds f[2k] g[j] to
// coefficient 2k+j and f[2k+1] g[j] to 2k+j+1 at once: for even j into slot
// k + j/2 of the "even" accumulator, which holds coefficients (2s, 2s+1); for
// odd j into slot k + (j-1)/2 of the "odd" one, which holds (2s+1, 2s+2).
// On top of that one level of Karatsuba on 382 + 379 coefficients (191 + 190
// pairs; an even split keeps the pairs aligned):
//   f g = f0 g0 + x^382 ((f0 + f1)(g0 + g1) - f0 g0 - f1 g1) + x^764 f1 g1.
// Lane bounds: |f| <= 2295 and |g| <= 2 (2 only from a malformed secret key);
// the middle product sums at most 382 terms of 4590 * 4, below 2^23, half a lane.

const PACK = 2 ** 24;
const PACK_INV = 1 / PACK;
const PAIRS = (P + 1) / 2; // 381 (f[761] taken as 0)
const LO = 191; // pairs in the low half
const HI = PAIRS - LO; // 190
const fPacked = new Float64Array(PAIRS);
const gEven = new Float64Array(PAIRS);
const gOdd = new Float64Array(PAIRS);
const fSum = new Float64Array(LO);
const gEvenSum = new Float64Array(LO);
const gOddSum = new Float64Array(LO);
const lowEven = new Float64Array(2 * LO);
const lowOdd = new Float64Array(2 * LO);
const midEven = new Float64Array(2 * LO);
const midOdd = new Float64Array(2 * LO);
const highEven = new Float64Array(2 * LO);
const highOdd = new Float64Array(2 * LO);
const accEven = new Float64Array(2 * PAIRS);
const accOdd = new Float64Array(2 * PAIRS);

/** Schoolbook product of nf packed pairs of f with ng pairs of g, into outEven/outOdd. */
function convolvePairs(
  f: Float64Array,
  fStart: number,
  nf: number,
  ge: Float64Array,
  go: Float64Array,
  gStart: number,
  ng: number,
  outEven: Float64Array,
  outOdd: Float64Array,
): void {
  outEven.fill(0);
  outOdd.fill(0);
  for (let b = 0; b < ng; b++) {
    const e = ge[gStart + b]!;
    const o = go[gStart + b]!;
    for (let k = 0; k < nf; k++) {
      const x = f[fStart + k]!;
      outEven[b + k] = outEven[b + k]! + x * e;
      outOdd[b + k] = outOdd[b + k]! + x * o;
    }
  }
}

/** h = f * g in R/q, f in Fq (|f| <= 2295), g small: the kernels' `mult` where they run. */
function rqMultSmall(h: Int16Array, f: Int16Array, g: Int8Array): void {
  const kernels = sntrup761Kernels();
  if (kernels !== null) multiply(kernels, h, f, g, 0);
  else rqMultSmallPortable(h, f, g);
}

/** {@link rqMultSmall} in JavaScript. */
function rqMultSmallPortable(h: Int16Array, f: Int16Array, g: Int8Array): void {
  for (let k = 0; k < PAIRS - 1; k++) fPacked[k] = f[2 * k]! + f[2 * k + 1]! * PACK;
  fPacked[PAIRS - 1] = f[P - 1]!;
  for (let b = 0; b < PAIRS - 1; b++) {
    gEven[b] = g[2 * b]!;
    gOdd[b] = g[2 * b + 1]!;
  }
  gEven[PAIRS - 1] = g[P - 1]!;
  gOdd[PAIRS - 1] = 0;
  for (let k = 0; k < LO; k++) {
    const upper = k < HI ? 1 : 0; // the high half has one pair less (public)
    fSum[k] = fPacked[k]! + upper * fPacked[(LO + k) % PAIRS]!;
    gEvenSum[k] = gEven[k]! + upper * gEven[(LO + k) % PAIRS]!;
    gOddSum[k] = gOdd[k]! + upper * gOdd[(LO + k) % PAIRS]!;
  }
  convolvePairs(fPacked, 0, LO, gEven, gOdd, 0, LO, lowEven, lowOdd);
  convolvePairs(fPacked, LO, HI, gEven, gOdd, LO, HI, highEven, highOdd);
  convolvePairs(fSum, 0, LO, gEvenSum, gOddSum, 0, LO, midEven, midOdd);
  accEven.fill(0);
  accOdd.fill(0);
  for (let s = 0; s < 2 * LO - 1; s++) {
    accEven[s] = accEven[s]! + lowEven[s]!;
    accOdd[s] = accOdd[s]! + lowOdd[s]!;
    accEven[s + LO] = accEven[s + LO]! + midEven[s]! - lowEven[s]! - highEven[s]!;
    accOdd[s + LO] = accOdd[s + LO]! + midOdd[s]! - lowOdd[s]! - highOdd[s]!;
  }
  for (let s = 0; s < 2 * HI - 1; s++) {
    accEven[s + 2 * LO] = accEven[s + 2 * LO]! + highEven[s]!;
    accOdd[s + 2 * LO] = accOdd[s + 2 * LO]! + highOdd[s]!;
  }
  // Unpack: a slot is lo + hi * 2^24 with |lo|, |hi| < 2^23, so hi = round(slot / 2^24).
  product.fill(0);
  for (let s = 0; s < 2 * PAIRS - 1; s++) {
    let x = accEven[s]!;
    let hi = Math.floor(x * PACK_INV + 0.5);
    product[2 * s] = product[2 * s]! + (x - hi * PACK);
    product[2 * s + 1] = product[2 * s + 1]! + hi;
    x = accOdd[s]!;
    hi = Math.floor(x * PACK_INV + 0.5);
    product[2 * s + 1] = product[2 * s + 1]! + (x - hi * PACK);
    product[2 * s + 2] = product[2 * s + 2]! + hi;
  }
  foldProduct();
  for (let i = 0; i < P; i++) h[i] = freezeQ(product[i]!);
  for (
    const a of [product, fPacked, gEven, gOdd, fSum, gEvenSum, gOddSum, accEven, accOdd]
  ) a.fill(0);
  for (const a of [lowEven, lowOdd, midEven, midOdd, highEven, highOdd]) a.fill(0);
}

// R/3 products have far smaller sums (at most 761 * 2 = 1522), so four
// coefficients fit in one double: lanes of 2^12, a slot below 2^47. The same
// scheme as above with four slot alignments instead of two halves the work
// again.

const QUAD = (P + 3) / 4; // 191 packed quadruples (f[761..763] taken as 0)
const LANE1 = 2 ** 12;
const LANE2 = 2 ** 24;
const LANE3 = 2 ** 36;
const fQuad = new Float64Array(QUAD);
const gQuad = new Float64Array(4 * QUAD);
const accQuad = [0, 1, 2, 3].map(() => new Float64Array(2 * QUAD));

/** Adds the four lanes of each slot of `acc` (alignment c) into product. */
function unpackQuad(acc: Float64Array, c: number): void {
  for (let s = 0; s < 2 * QUAD - 1; s++) {
    let x = acc[s]!;
    const t3 = Math.floor(x / LANE3 + 0.5);
    x -= t3 * LANE3;
    const t2 = Math.floor(x / LANE2 + 0.5);
    x -= t2 * LANE2;
    const t1 = Math.floor(x / LANE1 + 0.5);
    x -= t1 * LANE1;
    const o = 4 * s + c;
    product[o] = product[o]! + x;
    product[o + 1] = product[o + 1]! + t1;
    product[o + 2] = product[o + 2]! + t2;
    product[o + 3] = product[o + 3]! + t3;
  }
}

/** h = f * g in R/3, f and g small: the kernels' `mult` where they run. */
function r3Mult(h: Int8Array, f: Int8Array, g: Int8Array): void {
  const kernels = sntrup761Kernels();
  if (kernels !== null) multiply(kernels, h, f, g, 1);
  else r3MultPortable(h, f, g);
}

/** h = f * g in R/3, f and g small (g may hold 2 from a malformed secret key). */
function r3MultPortable(h: Int8Array, f: Int8Array, g: Int8Array): void {
  for (let k = 0; k < QUAD; k++) {
    const i = 4 * k;
    const f3 = i + 3 < P ? f[i + 3]! : 0;
    fQuad[k] = f[i]! + (i + 1 < P ? f[i + 1]! : 0) * LANE1 + (i + 2 < P ? f[i + 2]! : 0) * LANE2 +
      f3 * LANE3;
  }
  for (let j = 0; j < 4 * QUAD; j++) gQuad[j] = j < P ? g[j]! : 0;
  const [acc0, acc1, acc2, acc3] = accQuad as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  for (const acc of accQuad) acc.fill(0);
  // coefficient 4k + t of f times g[4b + c] lands in slot k + b of alignment c, lane t
  for (let b = 0; b < QUAD; b++) {
    const g0 = gQuad[4 * b]!;
    const g1 = gQuad[4 * b + 1]!;
    const g2 = gQuad[4 * b + 2]!;
    const g3 = gQuad[4 * b + 3]!;
    for (let k = 0; k < QUAD; k++) {
      const x = fQuad[k]!;
      acc0[b + k] = acc0[b + k]! + x * g0;
      acc1[b + k] = acc1[b + k]! + x * g1;
      acc2[b + k] = acc2[b + k]! + x * g2;
      acc3[b + k] = acc3[b + k]! + x * g3;
    }
  }
  product.fill(0);
  unpackQuad(acc0, 0);
  unpackQuad(acc1, 1);
  unpackQuad(acc2, 2);
  unpackQuad(acc3, 3);
  foldProduct();
  for (let i = 0; i < P; i++) h[i] = freeze3(product[i]!);
  product.fill(0);
  fQuad.fill(0);
  gQuad.fill(0);
  for (const acc of accQuad) acc.fill(0);
}

// ---------------------------------------------------------------------------
// Reciprocals by constant-time divsteps (Bernstein-Yang), the algorithm of the
// reference: 2p - 1 iterations over f = reversed(x^p - x - 1) and
// g = reversed(input), whatever the input, with v/r tracking the cofactor.
// One iteration: v = x v; if delta > 0 and g[0] != 0 (a mask, not a branch)
// swap (f, g), (v, r) and negate delta; delta += 1; eliminate g[0] from g
// using f[0] (and r likewise from v); g = g / x. The answer is v / f[0].
//
// Two public-bound savings, both driven by the loop counter only:
// - v and r have degree <= the iteration number, so their pass stops there;
// - coefficient i of f and g can influence g[0] only i iterations later, so
//   coefficients beyond the number of remaining iterations are never needed.

const WORDS = 24; // 768 bits cover the 762 coefficients of f and g

/**
 * out = 1/input in R/3; returns 0 when input is invertible, -1 otherwise
 * (then out is garbage). Bitsliced: coefficient i of a polynomial is bit i of
 * two planes, m (nonzero) and s (negative), so one 32-bit word operation
 * handles 32 coefficients. input must hold values in {-1, 0, 1}.
 */
function r3Recip(out: Int8Array, input: Int8Array): number {
  const kernels = sntrup761Kernels();
  return kernels === null ? r3RecipPortable(out, input) : r3RecipWasm(kernels, out, input);
}

/** {@link r3Recip} in the kernels' memory (the same planes, 128 coefficients a step). */
function r3RecipWasm(k: Sntrup761Kernels, out: Int8Array, input: Int8Array): number {
  k.clear();
  writeR3Start(k, (i) => input[i]!);
  const delta = k.r3Recip();
  // out = v / f[0] = f[0] v (f[0] = +-1), reversed.
  const f0 = r3Coefficient(k, "f", 0);
  for (let i = 0; i < P; i++) out[i] = f0 * r3Coefficient(k, "v", P - 1 - i);
  k.clear();
  return nonzeroMask(delta);
}

/** {@link r3Recip} in JavaScript. */
function r3RecipPortable(out: Int8Array, input: Int8Array): number {
  const fm = new Int32Array(WORDS), fs = new Int32Array(WORDS);
  const gm = new Int32Array(WORDS), gs = new Int32Array(WORDS);
  const vm = new Int32Array(WORDS), vs = new Int32Array(WORDS);
  const rm = new Int32Array(WORDS), rs = new Int32Array(WORDS);
  rm[0] = 1; // r = 1
  // f = reversed(x^p - x - 1): f[0] = 1, f[p-1] = f[p] = -1
  fm[0] = 1;
  fm[(P - 1) >> 5] = fm[(P - 1) >> 5]! | (1 << ((P - 1) & 31));
  fs[(P - 1) >> 5] = fs[(P - 1) >> 5]! | (1 << ((P - 1) & 31));
  fm[P >> 5] = fm[P >> 5]! | (1 << (P & 31));
  fs[P >> 5] = fs[P >> 5]! | (1 << (P & 31));
  for (let i = 0; i < P; i++) {
    const x = input[i]!;
    const k = P - 1 - i;
    gm[k >> 5] = gm[k >> 5]! | ((x & 1) << (k & 31));
    gs[k >> 5] = gs[k >> 5]! | (((x >> 1) & 1) << (k & 31));
  }
  let delta = 1;
  for (let loop = 0; loop < 2 * P - 1; loop++) {
    const f0s = fs[0]! & 1;
    const g0m = gm[0]! & 1;
    const g0s = gs[0]! & 1;
    // sign = -g[0] f[0] (f[0] = +-1): nonzero iff g[0] is; -1 iff g[0] and f[0] have equal signs.
    const nz = -g0m;
    const neg = nz & ((f0s ^ g0s) - 1);
    const swap = negativeMask(-delta) & nz;
    delta ^= swap & (delta ^ -delta);
    delta += 1;

    // v = x v, swap (v, r), r = r + sign v: words from the top down, so the carry is still old.
    const vTop = Math.min((loop + 1) >> 5, WORDS - 1);
    for (let w = vTop; w >= 0; w--) {
      let am = (vm[w]! << 1) | (w > 0 ? vm[w - 1]! >>> 31 : 0);
      let as = (vs[w]! << 1) | (w > 0 ? vs[w - 1]! >>> 31 : 0);
      let bm = rm[w]!;
      let bs = rs[w]!;
      let t = swap & (am ^ bm);
      am ^= t;
      bm ^= t;
      t = swap & (as ^ bs);
      as ^= t;
      bs ^= t;
      vm[w] = am;
      vs[w] = as;
      // (cm, cs) = (bm, bs) + sign * (am, as)
      const sm = am & nz;
      const ss = (as ^ (am & neg)) & nz;
      const both = bm & sm;
      const same = ~(bs ^ ss);
      rm[w] = (bm ^ sm) | (both & same);
      rs[w] = (bm & ~sm & bs) | (sm & ~bm & ss) | (both & same & ~bs);
    }

    // swap (f, g), g = (g + sign f) / x
    const fgTop = Math.min(2 * P - 1 - loop, P) >> 5;
    for (let w = 0; w <= fgTop; w++) {
      let am = fm[w]!;
      let as = fs[w]!;
      let bm = gm[w]!;
      let bs = gs[w]!;
      let t = swap & (am ^ bm);
      am ^= t;
      bm ^= t;
      t = swap & (as ^ bs);
      as ^= t;
      bs ^= t;
      fm[w] = am;
      fs[w] = as;
      const sm = am & nz;
      const ss = (as ^ (am & neg)) & nz;
      const both = bm & sm;
      const same = ~(bs ^ ss);
      gm[w] = (bm ^ sm) | (both & same);
      gs[w] = (bm & ~sm & bs) | (sm & ~bm & ss) | (both & same & ~bs);
    }
    for (let w = 0; w <= fgTop; w++) {
      const nextM = w + 1 < WORDS ? gm[w + 1]! : 0;
      const nextS = w + 1 < WORDS ? gs[w + 1]! : 0;
      gm[w] = (gm[w]! >>> 1) | (nextM << 31);
      gs[w] = (gs[w]! >>> 1) | (nextS << 31);
    }
  }
  // out = v / f[0] = f[0] v (f[0] = +-1), reversed.
  const f0s = fs[0]! & 1;
  for (let i = 0; i < P; i++) {
    const k = P - 1 - i;
    const m = (vm[k >> 5]! >>> (k & 31)) & 1;
    const s = ((vs[k >> 5]! >>> (k & 31)) ^ f0s) & 1;
    out[i] = m - 2 * (m & s);
  }
  const result = nonzeroMask(delta);
  for (const a of [fm, fs, gm, gs, vm, vs, rm, rs]) a.fill(0);
  return result;
}

/**
 * out = 1/(3 input) in R/q; returns 0 when invertible (always, for the short
 * f of key generation). The WebAssembly SIMD kernel where there is one, else
 * the JavaScript below; both give the same out.
 */
function rqRecip3(out: Int16Array, input: Int8Array): number {
  const kernels = sntrup761Kernels();
  return kernels === null ? rqRecip3Portable(out, input) : rqRecip3Wasm(kernels, out, input);
}

/** {@link rqRecip3} in the kernels' memory: the same start, divsteps and scaling. */
function rqRecip3Wasm(k: Sntrup761Kernels, out: Int16Array, input: Int8Array): number {
  const m = k.halves, { v, r, f, g } = k.rq;
  k.clear();
  m[r] = fqRecip(3);
  m[f] = 1;
  m[f + P - 1] = -1;
  m[f + P] = -1;
  for (let i = 0; i < P; i++) m[g + P - 1 - i] = input[i]!;
  const delta = k.rqRecip3();
  // The kernel keeps values in [-8448, 8448], not reduced.
  const scale = fqRecip(freezeQ(m[f]!));
  for (let i = 0; i < P; i++) out[i] = freezeQ(scale * freezeQ(m[v + P - 1 - i]!));
  k.clear();
  return nonzeroMask(delta);
}

/**
 * {@link rqRecip3} in JavaScript. Works in doubles with lazy reduction: f[0] and g[0]
 * are reduced every iteration (the zero test needs them exact), the vectors
 * every second iteration. Between reductions a value grows by at most a
 * factor 2 * 2295 from 2295, staying far below 2^53. The swap is an
 * arithmetic select (x + s (y - x) with s = 0 or 1) since doubles have no
 * bitwise operators.
 */
function rqRecip3Portable(out: Int16Array, input: Int8Array): number {
  const f = new Float64Array(P + 1);
  const g = new Float64Array(P + 1);
  const v = new Float64Array(P + 1);
  const r = new Float64Array(P + 1);
  r[0] = fqRecip(3);
  f[0] = 1;
  f[P - 1] = -1;
  f[P] = -1;
  for (let i = 0; i < P; i++) g[P - 1 - i] = input[i]!;
  let delta = 1;
  for (let loop = 0; loop < 2 * P - 1; loop++) {
    const f0old = freezeQ(f[0]!);
    const g0old = freezeQ(g[0]!);
    const swap = negativeMask(-delta) & nonzeroMask(g0old);
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    const s = swap & 1;
    const d0 = s * (g0old - f0old);
    const f0 = f0old + d0; // f[0] and g[0] after the conditional swap
    const g0 = g0old - d0;
    const top = loop + 1 < P ? loop + 1 : P;
    const fgTop = 2 * P - 1 - loop < P ? 2 * P - 1 - loop : P;
    if (loop & 1) {
      // reducing iteration: every stored value is brought back to [-2295, 2295]
      for (let i = top; i >= 1; i--) {
        const vOld = v[i - 1]!;
        const rOld = r[i]!;
        const d = s * (rOld - vOld);
        const vi = vOld + d;
        v[i] = freezeQ(vi);
        r[i] = freezeQ(f0 * (rOld - d) - g0 * vi);
      }
      const r0: number = r[0]!;
      const vi0 = s * r0;
      v[0] = freezeQ(vi0);
      r[0] = freezeQ(f0 * (r0 - vi0) - g0 * vi0);
      f[0] = f0;
      for (let i = 1; i <= fgTop; i++) {
        const fOld = f[i]!;
        const gOld = g[i]!;
        const d = s * (gOld - fOld);
        const fi = fOld + d;
        f[i] = freezeQ(fi);
        g[i - 1] = freezeQ(f0 * (gOld - d) - g0 * fi);
      }
    } else {
      for (let i = top; i >= 1; i--) {
        const vOld = v[i - 1]!;
        const rOld = r[i]!;
        const d = s * (rOld - vOld);
        const vi = vOld + d;
        v[i] = vi;
        r[i] = f0 * (rOld - d) - g0 * vi;
      }
      const r0: number = r[0]!;
      const vi0 = s * r0;
      v[0] = vi0;
      r[0] = f0 * (r0 - vi0) - g0 * vi0;
      f[0] = f0;
      for (let i = 1; i <= fgTop; i++) {
        const fOld = f[i]!;
        const gOld = g[i]!;
        const d = s * (gOld - fOld);
        const fi = fOld + d;
        f[i] = fi;
        g[i - 1] = f0 * (gOld - d) - g0 * fi;
      }
    }
    g[fgTop] = 0;
  }
  const scale = fqRecip(freezeQ(f[0]!));
  for (let i = 0; i < P; i++) out[i] = freezeQ(scale * freezeQ(v[P - 1 - i]!));
  const result = nonzeroMask(delta);
  f.fill(0), g.fill(0), v.fill(0), r.fill(0);
  return result;
}

// ---------------------------------------------------------------------------
// Encode / Decode of the specification: a sequence R of integers with
// 0 <= R[i] < M[i] packed into bytes, pairs merged level by level.
// Only the (public) moduli M decide control flow.

function encode(out: Uint8Array, offset: number, values: ArrayLike<number>, modulus: number): void {
  let len = P;
  let R: Uint32Array = Uint32Array.from(values);
  let M: Uint32Array = new Uint32Array(len).fill(modulus);
  let pos = offset;
  while (len > 1) {
    const half = (len + 1) >> 1;
    const R2 = new Uint32Array(half);
    const M2 = new Uint32Array(half);
    let i = 0;
    for (; i < len - 1; i += 2) {
      const m0 = M[i]!;
      let r = R[i]! + R[i + 1]! * m0; // < 2^28
      let m = M[i + 1]! * m0;
      while (m >= 16384) {
        out[pos++] = r & 255;
        r >>>= 8;
        m = (m + 255) >>> 8;
      }
      R2[i >> 1] = r;
      M2[i >> 1] = m;
    }
    if (i < len) {
      R2[i >> 1] = R[i]!;
      M2[i >> 1] = M[i]!;
    }
    R.fill(0);
    R = R2;
    M = M2;
    len = half;
  }
  let r = R[0]!;
  let m = M[0]!;
  while (m > 1) {
    out[pos++] = r & 255;
    r >>>= 8;
    m = (m + 255) >>> 8;
  }
  R.fill(0);
}

/**
 * The inverse of encode for public data (keys and ciphertexts from the peer).
 * Like the reference, out-of-range inputs are reduced, never rejected.
 */
function decodeLevel(
  out: Uint32Array,
  S: Uint8Array,
  s: number,
  M: Uint32Array,
  len: number,
): void {
  if (len === 1) {
    const m = M[0]!;
    if (m === 1) out[0] = 0;
    else if (m <= 256) out[0] = S[s]! % m;
    else out[0] = (S[s]! + (S[s + 1]! << 8)) % m;
    return;
  }
  const half = (len + 1) >> 1;
  const pairs = len >> 1;
  const M2 = new Uint32Array(half);
  const bottomR = new Uint32Array(pairs);
  const bottomT = new Uint32Array(pairs);
  let i = 0;
  for (; i < len - 1; i += 2) {
    const m = M[i]! * M[i + 1]!;
    if (m > 256 * 16383) {
      bottomT[i >> 1] = 65536;
      bottomR[i >> 1] = S[s]! + 256 * S[s + 1]!;
      s += 2;
      M2[i >> 1] = (((m + 255) >>> 8) + 255) >>> 8;
    } else if (m >= 16384) {
      bottomT[i >> 1] = 256;
      bottomR[i >> 1] = S[s]!;
      s += 1;
      M2[i >> 1] = (m + 255) >>> 8;
    } else {
      bottomT[i >> 1] = 1;
      bottomR[i >> 1] = 0;
      M2[i >> 1] = m;
    }
  }
  if (i < len) M2[i >> 1] = M[i]!;
  const R2 = new Uint32Array(half);
  decodeLevel(R2, S, s, M2, half);
  let o = 0;
  for (i = 0; i < len - 1; i += 2) {
    const r = bottomR[i >> 1]! + bottomT[i >> 1]! * R2[i >> 1]!; // < 2^32: exact in a double
    const m0 = M[i]!;
    const quotient = Math.floor(r / m0);
    out[o++] = r - quotient * m0;
    out[o++] = quotient % M[i + 1]!;
  }
  if (i < len) out[o++] = R2[i >> 1]!;
}

function decode(S: Uint8Array, modulus: number): Uint32Array {
  const out = new Uint32Array(P);
  decodeLevel(out, S, 0, new Uint32Array(P).fill(modulus), P);
  return out;
}

function rqEncode(out: Uint8Array, offset: number, r: Int16Array): void {
  const R = new Uint32Array(P);
  for (let i = 0; i < P; i++) R[i] = r[i]! + Q12;
  encode(out, offset, R, Q);
}

function rqDecode(s: Uint8Array): Int16Array {
  const R = decode(s, Q);
  const r = new Int16Array(P);
  for (let i = 0; i < P; i++) r[i] = R[i]! - Q12;
  return r;
}

function roundedEncode(out: Uint8Array, offset: number, r: Int16Array): void {
  const R = new Uint32Array(P);
  for (let i = 0; i < P; i++) R[i] = ((r[i]! + Q12) * 10923) >> 15;
  encode(out, offset, R, (Q + 2) / 3);
  R.fill(0);
}

function roundedDecode(s: Uint8Array): Int16Array {
  const R = decode(s, (Q + 2) / 3);
  const r = new Int16Array(P);
  for (let i = 0; i < P; i++) r[i] = R[i]! * 3 - Q12;
  return r;
}

/** Four coefficients (each + 1, two bits) per byte, the last byte holding one. */
function smallEncode(out: Uint8Array, offset: number, f: Int8Array): void {
  let j = 0;
  for (let i = 0; i < P >> 2; i++) {
    out[offset + i] = (f[j]! + 1) | ((f[j + 1]! + 1) << 2) | ((f[j + 2]! + 1) << 4) |
      ((f[j + 3]! + 1) << 6);
    j += 4;
  }
  out[offset + (P >> 2)] = f[j]! + 1;
}

function smallDecode(s: Uint8Array, offset: number): Int8Array {
  const f = new Int8Array(P);
  let j = 0;
  for (let i = 0; i < P >> 2; i++) {
    const x = s[offset + i]!;
    f[j++] = (x & 3) - 1;
    f[j++] = ((x >> 2) & 3) - 1;
    f[j++] = ((x >> 4) & 3) - 1;
    f[j++] = ((x >> 6) & 3) - 1;
  }
  f[j] = (s[offset + (P >> 2)]! & 3) - 1;
  return f;
}

// ---------------------------------------------------------------------------
// Random small polynomials

function littleEndianWord(bytes: Uint8Array, i: number): number {
  return (bytes[4 * i]! | (bytes[4 * i + 1]! << 8) | (bytes[4 * i + 2]! << 16) |
    (bytes[4 * i + 3]! << 24)) >>> 0;
}

/** Uniform coefficients in {-1, 0, 1} from 32-bit words (Small_random). */
function smallFromWords(bytes: Uint8Array): Int8Array {
  const out = new Int8Array(P);
  for (let i = 0; i < P; i++) {
    // (word mod 2^30) * 3 / 2^30 in {0, 1, 2}; below 2^32, so exact.
    out[i] = (((littleEndianWord(bytes, i) & 0x3fffffff) * 3) >>> 30) - 1;
  }
  return out;
}

/**
 * Sorts int32 values in place with a data-independent sequence of branch-free
 * compare-exchanges (each one the min/max by masks used by djbsort).
 */
function sortNetwork(x: Int32Array): void {
  // Batcher's merge exchange (Knuth, TAOCP vol. 3, Algorithm 5.2.2M): a fixed
  // sequence of comparators for any length; only public indices steer it.
  const n = x.length;
  let t = 0;
  while (1 << t < n) t++;
  for (let p = 1 << (t - 1); p > 0; p >>= 1) {
    let q = 1 << (t - 1);
    let r = 0;
    let d = p;
    for (;;) {
      for (let i = 0; i < n - d; i++) {
        if ((i & p) !== r) continue;
        const a = x[i]!;
        const b = x[i + d]!;
        const ab = b ^ a;
        let c = (b - a) | 0;
        c ^= ab & (c ^ b); // the true sign of b - a, even when it overflows
        c >>= 31;
        c &= ab;
        x[i] = a ^ c;
        x[i + d] = b ^ c;
      }
      if (q === p) break;
      d = q - p;
      q >>= 1;
      r = p;
    }
  }
}

/**
 * Short_fromlist: a weight-w polynomial from 32-bit words. The first w words
 * get low bits 00 or 10 (coefficient -1 or +1), the rest 01 (coefficient 0);
 * sorting the words as unsigned integers shuffles the coefficients.
 */
function shortFromWords(bytes: Uint8Array): Int8Array {
  const L = new Int32Array(P);
  for (let i = 0; i < P; i++) {
    const word = littleEndianWord(bytes, i);
    const tagged = i < W ? word & ~1 : (word & ~3) | 1;
    L[i] = tagged ^ 0x80000000; // unsigned order becomes signed order
  }
  sortNetwork(L);
  const out = new Int8Array(P);
  for (let i = 0; i < P; i++) out[i] = (L[i]! & 3) - 1;
  L.fill(0);
  return out;
}

// ---------------------------------------------------------------------------
// Hashing: the first 32 bytes of SHA-512(b || input), through the kex hashes'
// backend (node:crypto where io/ registered it, else @noble/hashes).

function hashPrefix(b: number, ...parts: Uint8Array[]): Uint8Array {
  const input = concatBytes(Uint8Array.of(b), ...parts);
  const digest = kexDigest("sha512", input);
  input.fill(0); // it can hold r's encoding
  return digest.subarray(0, HASH_BYTES);
}

/** HashConfirm(r, cache) = Hash2(Hash3(r) || Hash4(pk)) */
function hashConfirm(rEnc: Uint8Array, cache: Uint8Array): Uint8Array {
  return hashPrefix(2, hashPrefix(3, rEnc), cache);
}

/** HashSession(b, r, c) = Hash_b(Hash3(r) || c): b = 1 for success, 0 for rejection. */
function hashSession(b: number, rEnc: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return hashPrefix(b, hashPrefix(3, rEnc), ciphertext);
}

// ---------------------------------------------------------------------------
// The KEM

/** Encrypts r under pk and appends the confirmation hash; also returns Small_encode(r). */
function hide(
  r: Int8Array,
  pk: Uint8Array,
  cache: Uint8Array,
): { ciphertext: Uint8Array; rEnc: Uint8Array } {
  const rEnc = new Uint8Array(SMALL_BYTES);
  smallEncode(rEnc, 0, r);
  const h = rqDecode(pk);
  const hr = new Int16Array(P);
  rqMultSmall(hr, h, r);
  for (let i = 0; i < P; i++) hr[i] = hr[i]! - freeze3(hr[i]!); // Round
  const ciphertext = new Uint8Array(SNTRUP761_CIPHERTEXT_BYTES);
  roundedEncode(ciphertext, 0, hr);
  ciphertext.set(hashConfirm(rEnc, cache), ROUNDED_BYTES);
  hr.fill(0);
  return { ciphertext, rEnc };
}

/**
 * Generates an sntrup761 key pair. Draws 4·761 bytes per candidate g (usually
 * one), 4·761 bytes for f and 191 bytes for the rejection value rho, in that
 * order, exactly like the reference implementation.
 *
 * @example
 * ```ts
 * import { sntrup761Keypair } from "./sntrup761.ts";
 * import { systemRandom } from "@sshts/ssh/core";
 * const { publicKey, secretKey } = sntrup761Keypair(systemRandom);
 * console.log(publicKey.length, secretKey.length); // 1158 1763
 * ```
 */
export function sntrup761Keypair(
  random: RandomBytes,
): { publicKey: Uint8Array; secretKey: Uint8Array } {
  let g: Int8Array;
  const ginv = new Int8Array(P);
  for (;;) {
    g = smallFromWords(drawRandom(random, RANDOM_WORDS_BYTES));
    // Whether a candidate was invertible is not secret: a rejected g is discarded.
    if (r3Recip(ginv, g) === 0) break;
  }
  const f = shortFromWords(drawRandom(random, RANDOM_WORDS_BYTES));
  const finv = new Int16Array(P);
  rqRecip3(finv, f);
  const h = new Int16Array(P);
  rqMultSmall(h, finv, g);

  const publicKey = new Uint8Array(SNTRUP761_PUBLIC_KEY_BYTES);
  rqEncode(publicKey, 0, h);

  const secretKey = new Uint8Array(SNTRUP761_SECRET_KEY_BYTES);
  smallEncode(secretKey, 0, f);
  smallEncode(secretKey, SMALL_BYTES, ginv);
  let o = 2 * SMALL_BYTES;
  secretKey.set(publicKey, o);
  o += RQ_BYTES;
  secretKey.set(drawRandom(random, SMALL_BYTES), o);
  o += SMALL_BYTES;
  secretKey.set(hashPrefix(4, publicKey), o);

  g.fill(0), ginv.fill(0), f.fill(0), finv.fill(0);
  return { publicKey, secretKey };
}

/**
 * Encapsulates a fresh shared secret to `publicKey`. Draws 4·761 bytes from
 * `random`. Throws {@link PqInputError} if the key is not 1158 bytes.
 *
 * @example
 * ```ts
 * import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761Keypair } from "./sntrup761.ts";
 * import { systemRandom } from "@sshts/ssh/core";
 * const { publicKey, secretKey } = sntrup761Keypair(systemRandom);
 * const { ciphertext, sharedSecret } = sntrup761Encapsulate(publicKey, systemRandom);
 * const again = sntrup761Decapsulate(ciphertext, secretKey);
 * console.log(sharedSecret.join() === again.join()); // true
 * ```
 */
export function sntrup761Encapsulate(
  publicKey: Uint8Array,
  random: RandomBytes,
): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
  checkLength("publicKey", publicKey, SNTRUP761_PUBLIC_KEY_BYTES);
  const cache = hashPrefix(4, publicKey);
  const r = shortFromWords(drawRandom(random, RANDOM_WORDS_BYTES));
  const { ciphertext, rEnc } = hide(r, publicKey, cache);
  const sharedSecret = hashSession(1, rEnc, ciphertext);
  r.fill(0), rEnc.fill(0);
  return { ciphertext, sharedSecret };
}

/**
 * Decapsulates `ciphertext` with `secretKey`. Never throws for a well-sized
 * ciphertext: an invalid one yields a pseudo-random secret derived from the
 * secret rho (implicit rejection), chosen with masks rather than a branch.
 * Throws {@link PqInputError} if either input has the wrong length.
 *
 * @example
 * ```ts
 * import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761Keypair } from "./sntrup761.ts";
 * import { systemRandom } from "@sshts/ssh/core";
 * const { publicKey, secretKey } = sntrup761Keypair(systemRandom);
 * const { ciphertext } = sntrup761Encapsulate(publicKey, systemRandom);
 * ciphertext[0]! ^= 1; // tampered: a different, unrelated secret comes back
 * console.log(sntrup761Decapsulate(ciphertext, secretKey).length); // 32
 * ```
 */
export function sntrup761Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkLength("ciphertext", ciphertext, SNTRUP761_CIPHERTEXT_BYTES);
  checkLength("secretKey", secretKey, SNTRUP761_SECRET_KEY_BYTES);
  const pkStart = 2 * SMALL_BYTES;
  const rhoStart = pkStart + RQ_BYTES;
  const cacheStart = rhoStart + SMALL_BYTES;
  const pk = secretKey.subarray(pkStart, rhoStart);
  const rho = secretKey.subarray(rhoStart, cacheStart);
  const cache = secretKey.subarray(cacheStart, cacheStart + HASH_BYTES);

  // Decrypt: e = 3 f c in R/3, ev = e / g; r = ev if it has weight w, else a fixed weight-w vector.
  const f = smallDecode(secretKey, 0);
  const ginv = smallDecode(secretKey, SMALL_BYTES);
  const c = roundedDecode(ciphertext.subarray(0, ROUNDED_BYTES));
  const cf = new Int16Array(P);
  rqMultSmall(cf, c, f);
  const e = new Int8Array(P);
  for (let i = 0; i < P; i++) e[i] = freeze3(freezeQ(3 * cf[i]!));
  const ev = new Int8Array(P);
  r3Mult(ev, e, ginv);
  let weight = 0;
  for (let i = 0; i < P; i++) weight += ev[i]! & 1;
  const bad = nonzeroMask(weight - W);
  const r = new Int8Array(P);
  for (let i = 0; i < W; i++) r[i] = ((ev[i]! ^ 1) & ~bad) ^ 1;
  for (let i = W; i < P; i++) r[i] = ev[i]! & ~bad;

  // Re-encrypt and compare the whole ciphertext without an early exit.
  const { ciphertext: cnew, rEnc } = hide(r, pk, cache);
  let diff = 0;
  for (let i = 0; i < SNTRUP761_CIPHERTEXT_BYTES; i++) diff |= ciphertext[i]! ^ cnew[i]!;
  const mask = (((diff - 1) >>> 8) & 1) - 1; // 0 when equal, -1 when different
  for (let i = 0; i < SMALL_BYTES; i++) rEnc[i] = rEnc[i]! ^ (mask & (rEnc[i]! ^ rho[i]!));
  const sharedSecret = hashSession(1 + mask, rEnc, ciphertext);

  f.fill(0), ginv.fill(0), cf.fill(0), e.fill(0), ev.fill(0), r.fill(0), rEnc.fill(0);
  return sharedSecret;
}
