/**
 * Where sntrup761's WebAssembly kernels (`sntrup761_module.ts`) keep their
 * arrays in their one page of memory, and the exports they add — apart from the
 * builder, so the code that runs the prebuilt module need not load it.
 *
 * @module
 */

/** int16 slots per array: p + 1 coefficients and the lanes a pass computes past the end (up to 768). */
const STRIDE = 800;

/**
 * Byte addresses of the four coefficient arrays (int16, little-endian). `v - 2`
 * holds v[−1], always 0 (in the 16 bytes before v, which nothing writes).
 *
 * @example
 * ```ts
 * import { RQ_RECIP3_LAYOUT } from "./sntrup761_layout.ts";
 * console.log(RQ_RECIP3_LAYOUT.v, RQ_RECIP3_LAYOUT.slots); // 16 800
 * ```
 */
export const RQ_RECIP3_LAYOUT: {
  readonly v: number;
  readonly r: number;
  readonly f: number;
  readonly g: number;
  readonly slots: number;
} = Object.freeze({
  v: 16,
  r: 16 + 2 * STRIDE,
  f: 16 + 4 * STRIDE,
  g: 16 + 6 * STRIDE,
  slots: STRIDE,
});

/**
 * The export `addRqRecip3Function` adds, as JavaScript sees it.
 *
 * @example
 * ```ts
 * import type { RqRecip3Exports } from "./sntrup761_layout.ts";
 * const invertible = (x: RqRecip3Exports) => x.rq_recip3() === 0;
 * ```
 */
export interface RqRecip3Exports {
  /** Runs the 2p − 1 divsteps over the arrays in memory; returns delta. */
  rq_recip3(): number;
}

/** Bytes per bitsliced plane: a zero vector, six vectors of 768 bits, a zero vector. */
const PLANE_BYTES = 128;
const R3_BASE = 16 + 8 * STRIDE;

/**
 * Byte addresses of the eight bitsliced planes of `r3_recip` (bit i of plane
 * `xm` set when coefficient i of x is nonzero, of `xs` when it is −1; 24
 * little-endian words each), after the four arrays of {@link RQ_RECIP3_LAYOUT}
 * in the same page. The 16 bytes before and after each plane stay 0.
 *
 * @example
 * ```ts
 * import { R3_RECIP_LAYOUT } from "./sntrup761_layout.ts";
 * console.log(R3_RECIP_LAYOUT.words); // 24
 * ```
 */
export const R3_RECIP_LAYOUT: {
  readonly fm: number;
  readonly fs: number;
  readonly gm: number;
  readonly gs: number;
  readonly vm: number;
  readonly vs: number;
  readonly rm: number;
  readonly rs: number;
  readonly words: number;
  readonly end: number;
} = Object.freeze({
  fm: R3_BASE + 16,
  fs: R3_BASE + PLANE_BYTES + 16,
  gm: R3_BASE + 2 * PLANE_BYTES + 16,
  gs: R3_BASE + 3 * PLANE_BYTES + 16,
  vm: R3_BASE + 4 * PLANE_BYTES + 16,
  vs: R3_BASE + 5 * PLANE_BYTES + 16,
  rm: R3_BASE + 6 * PLANE_BYTES + 16,
  rs: R3_BASE + 7 * PLANE_BYTES + 16,
  words: 24,
  end: R3_BASE + 8 * PLANE_BYTES,
});

/**
 * The export `addR3RecipFunction` adds, as JavaScript sees it.
 *
 * @example
 * ```ts
 * import type { R3RecipExports } from "./sntrup761_layout.ts";
 * const invertible = (x: R3RecipExports) => x.r3_recip() === 0;
 * ```
 */
export interface R3RecipExports {
  /** Runs the 2p − 1 divsteps of the reciprocal in R/3 over the planes in memory; returns delta. */
  r3_recip(): number;
}

const MULT_BASE = R3_BASE + 8 * PLANE_BYTES;
/** G2 entries before index 0: a block of 32 outputs reads down to index −31. */
const PAIRS_BEFORE = 32;

/**
 * Where `mult` finds its operands and leaves its results, after the planes of
 * {@link R3_RECIP_LAYOUT}:
 *
 * - `f`: the first factor, p int16 coefficients and a zero after them;
 * - `pairs`: the second factor g as int32 words, word m holding g[m] in its low
 *   half and g[m − 1] in its high half, room for m from −32 (at `pairs`) to 1,567
 *   (the kernel reads −31 … 800; g is 0 outside 0..p−1);
 * - `product`: 1,536 int32 sums, the first 2p − 1 the product's coefficients;
 * - `out`: p int16 coefficients, the product folded by x^p = x + 1 and reduced.
 *
 * @example
 * ```ts
 * import { MULT_LAYOUT } from "./sntrup761_layout.ts";
 * console.log(MULT_LAYOUT.pairsBefore); // 32
 * ```
 */
export const MULT_LAYOUT: {
  readonly f: number;
  readonly pairs: number;
  readonly pairsBefore: number;
  readonly product: number;
  readonly out: number;
  readonly end: number;
} = Object.freeze({
  f: MULT_BASE,
  pairs: MULT_BASE + 1536,
  pairsBefore: PAIRS_BEFORE,
  product: MULT_BASE + 1536 + 4 * 1600,
  out: MULT_BASE + 1536 + 4 * 1600 + 4 * 1536,
  end: MULT_BASE + 1536 + 4 * 1600 + 4 * 1536 + 1536,
});

/**
 * The export `addMultFunction` adds, as JavaScript sees it.
 *
 * @example
 * ```ts
 * import type { MultExports } from "./sntrup761_layout.ts";
 * const modQ = (x: MultExports) => x.mult(0);
 * ```
 */
export interface MultExports {
  /** f·g in R/q (`mod3` 0) or R/3 (`mod3` 1), from and into the arrays of `MULT_LAYOUT`. */
  mult(mod3: number): void;
}
