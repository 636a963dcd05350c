/**
 * sntrup761's two reciprocals as WebAssembly SIMD functions: in R/q
 * (`Rq_recip3` of the NTRU Prime reference, 60 % of a key generation in
 * JavaScript) and in R/3 (`R3_recip`). Each is 1,521 constant-time divsteps, a
 * pass over up to 762 coefficients of four polynomials each; a process's first
 * run of the JavaScript versions also paid some 50 ms for the JIT's warm-up.
 *
 * `rq_recip3()` works on four arrays of int16 coefficients at fixed addresses
 * ({@link RQ_RECIP3_LAYOUT}) that the caller fills: f = the reversed
 * x^p − x − 1, g = the reversed input, v = 0 and r = 1/3 mod q. It returns the
 * final delta (invertible when 0, as `../../pq/sntrup761.ts` reads it) and
 * leaves v, whose reverse scaled by 1/f[0] is the reciprocal (reduce each value
 * mod q first: they are only kept small).
 *
 * Eight coefficients per operation, in 16-bit lanes. Each step computes
 * f0·a − g0·b for every coefficient pair (a, b), with f0 and g0 reduced exactly
 * (scalars, once a step). A product a·c mod q, for the step's scalar c, is
 * Shoup's: with c' = round(2^15·c / q), t = round(a·c' / 2^15) is within 0.63
 * of a·c/q for |a| ≤ 8448, so a·c − t·q (computed mod 2^16, where it is
 * exact) lies within ±0.63·q; a difference of two within ±5776. So every
 * stored value stays within ±5776, inside the ±8448 the arithmetic is shown
 * for (the tests check the lane arithmetic over that range). The swap is
 * `v128.bitselect` under a mask; the only branches depend on the public loop
 * counter, as in the JavaScript version:
 *
 * - v and r have degree ≤ the iteration number, so their pass stops there, and
 *   goes from the top down eight coefficients at a time, reading v one
 *   coefficient lower (v = x·v) from a slot v[−1] that stays 0;
 * - coefficients of f and g beyond the remaining iterations can no longer reach
 *   g[0], so their pass stops there.
 *
 * Lanes past a pass's end compute values nobody reads: coefficients no longer
 * needed, or the arrays' padding (which only ever holds values in bounds).
 *
 * @module
 */

import {
  block,
  br,
  brIf,
  type Code,
  get,
  i16x8,
  i32,
  i32x4,
  i64,
  ifElse,
  loop,
  type Operand,
  seq,
  set,
  v128,
} from "./instructions.ts";
import { type Local, ModuleBuilder } from "./module_builder.ts";
import { MULT_LAYOUT, R3_RECIP_LAYOUT, RQ_RECIP3_LAYOUT } from "./sntrup761_layout.ts";

const P = 761;
const Q = 4591;
/** round(2^40 / q): c' = (c·SHOUP + 2^24) >> 25 = round(2^15·c / q) for |c| ≤ 2295. */
const SHOUP = Math.round(2 ** 40 / Q);

/** −v (i32). */
function negate(v: Operand): Code {
  return i32.sub(i32.const(0), v);
}

/** Caps an unsigned i32 local at `bound` (a public loop bound). */
function atMost(local: Local, bound: number): Code {
  return ifElse(i32.gt_u(local, i32.const(bound)), [set(local, i32.const(bound))]);
}

/**
 * The divstep's swap mask, −1 when delta > 0 and g[0] ≠ 0 (`nonzero`: −1 or 0), and then
 * delta = (swap ? −delta : delta) + 1: the reference's branch-free form, shared by both
 * reciprocals.
 */
function divstepSwap(swap: Local, delta: Local, nonzero: Operand): Code {
  return seq(
    set(swap, i32.and(i32.shr_s(negate(delta), i32.const(31)), nonzero)),
    set(delta, i32.add(i32.xor(delta, i32.and(swap, i32.xor(delta, negate(delta)))), i32.const(1))),
  );
}

/**
 * x mod q in [−2295, 2295] for an i32 local, |x| ≤ 2·2295², in place: the
 * reference's two-step `Fq_freeze`, whose products stay below 2^31 there.
 *
 * @example
 * ```ts
 * import { fqFreeze } from "./sntrup761_module.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(0);
 * fqFreeze(f.local("i32"))(f);
 * ```
 */
export function fqFreeze(x: Local): Code {
  const quotient1 = i32.shr_s(i32.mul(x, i32.const(57)), i32.const(18));
  const rounded = i32.add(i32.mul(x, i32.const(29235)), i32.const(1 << 26));
  return seq(
    set(x, i32.sub(x, i32.mul(quotient1, i32.const(Q)))),
    set(x, i32.sub(x, i32.mul(i32.shr_s(rounded, i32.const(27)), i32.const(Q)))),
  );
}

/**
 * Shoup's constant for c (|c| ≤ 2295, an i32): round(2^15·c / q), as an i32.
 *
 * @example
 * ```ts
 * import { shoupConstant } from "./sntrup761_module.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(0);
 * shoupConstant(f.local("i32"))(f); // leaves the constant on the stack
 * ```
 */
export function shoupConstant(c: Operand): Code {
  return i32.wrap_i64(
    i64.shr_s(
      i64.add(i64.mul(i64.extend_i32_s(c), i64.const(SHOUP)), i64.const(1 << 24)),
      i64.const(25),
    ),
  );
}

/**
 * f·a − g·b mod q in each 16-bit lane, within ±5776 for |a|, |b| ≤ 8448,
 * where f and g are lanes of one reduced scalar each and fShoup, gShoup their
 * {@link shoupConstant}s.
 *
 * @example
 * ```ts
 * import { combineLanes } from "./sntrup761_module.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(0);
 * const [a, b, c, d, e, g] = [0, 1, 2, 3, 4, 5].map(() => f.local("v128"));
 * combineLanes(a!, b!, c!, d!, e!, g!)(f); // leaves the lanes on the stack
 * ```
 */
export function combineLanes(
  f: Operand,
  fShoup: Operand,
  a: Operand,
  g: Operand,
  gShoup: Operand,
  b: Operand,
): Code {
  const quotients = i16x8.sub(i16x8.q15mulr_sat_s(a, fShoup), i16x8.q15mulr_sat_s(b, gShoup));
  return i16x8.sub(
    i16x8.sub(i16x8.mul(a, f), i16x8.mul(b, g)),
    i16x8.mul(quotients, i16x8.splat(i32.const(Q))),
  );
}

/**
 * Adds `rq_recip3` to a module whose memory has at least one page (SIMD
 * required: validate the result, and fall back when the engine refuses it).
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { addRqRecip3Function } from "./sntrup761_module.ts";
 * const m = new ModuleBuilder().memory({ initial: 1, maximum: 1 }, "memory");
 * addRqRecip3Function(m);
 * console.log(WebAssembly.validate(m.build())); // true where SIMD is supported
 * ```
 */
export function addRqRecip3Function(m: ModuleBuilder): void {
  const L = RQ_RECIP3_LAYOUT;
  m.func({ name: "rq_recip3", params: [], results: ["i32"] }, (f) => {
    const I32 = "i32" as const, V128 = "v128" as const;
    const n = f.local(I32), delta = f.local(I32), swap = f.local(I32);
    const f0 = f.local(I32), g0 = f.local(I32), d0 = f.local(I32);
    const top = f.local(I32), end = f.local(I32), p = f.local(I32);
    const swapV = f.local(V128), f0V = f.local(V128), g0V = f.local(V128);
    const f0Shoup = f.local(V128), g0Shoup = f.local(V128);
    const a = f.local(V128), b = f.local(V128), x = f.local(V128);
    /** Stores f0·a − g0·x (a: the kept value after the swap, x: the selected one) at `address` + p. */
    const storeCombined = (address: number) =>
      v128.store(p, combineLanes(f0V, f0Shoup, a, g0V, g0Shoup, x), address);

    seq(
      set(delta, i32.const(1)),
      set(n, i32.const(0)),
      loop(
        // f[0], g[0] exactly; swap when delta > 0 and g[0] != 0; delta = (swap ? -delta : delta) + 1.
        set(f0, i32.load16_s(i32.const(0), L.f)),
        set(g0, i32.load16_s(i32.const(0), L.g)),
        fqFreeze(f0),
        fqFreeze(g0),
        divstepSwap(swap, delta, i32.shr_s(i32.or(g0, negate(g0)), i32.const(31))),
        set(d0, i32.and(swap, i32.xor(f0, g0))),
        set(f0, i32.xor(f0, d0)),
        set(g0, i32.xor(g0, d0)),
        set(swapV, i16x8.splat(swap)),
        set(f0V, i16x8.splat(f0)),
        set(g0V, i16x8.splat(g0)),
        set(f0Shoup, i16x8.splat(shoupConstant(f0))),
        set(g0Shoup, i16x8.splat(shoupConstant(g0))),
        // v = x·v, swap (v, r), r = f0·r − g0·v: coefficients top..0, eight at a time, downwards.
        set(top, i32.add(n, i32.const(1))),
        atMost(top, P),
        set(p, i32.shl(i32.and(top, i32.const(-8)), i32.const(1))),
        block(
          loop(
            set(a, v128.load(p, L.v - 2)), // v[i-1 .. i+6]
            set(b, v128.load(p, L.r)),
            set(x, v128.bitselect(b, a, swapV)), // new v
            set(a, v128.bitselect(a, b, swapV)), // r, swapped
            v128.store(p, x, L.v),
            storeCombined(L.r),
            brIf(1, i32.eqz(p)),
            set(p, i32.sub(p, i32.const(16))),
            br(0),
          ),
        ),
        // swap (f, g), g = (f0·g − g0·f) / x: coefficients 1..end, eight at a time, upwards.
        i32.store16(i32.const(0), f0, L.f),
        set(end, i32.sub(i32.const(2 * P - 1), n)),
        atMost(end, P),
        set(end, i32.shl(end, i32.const(1))),
        set(p, i32.const(2)),
        loop(
          set(a, v128.load(p, L.f)),
          set(b, v128.load(p, L.g)),
          set(x, v128.bitselect(b, a, swapV)), // new f
          set(a, v128.bitselect(a, b, swapV)), // g, swapped
          v128.store(p, x, L.f),
          storeCombined(L.g - 2),
          set(p, i32.add(p, i32.const(16))),
          brIf(0, i32.le_u(p, end)),
        ),
        i32.store16(end, i32.const(0), L.g),
        set(n, i32.add(n, i32.const(1))),
        brIf(0, i32.lt_u(n, i32.const(2 * P - 1))),
      ),
      get(delta),
    )(f);
  });
}

/**
 * Adds `r3_recip`, sntrup761's reciprocal in R/3 (`R3_recip` of the reference,
 * bitsliced as `../../pq/sntrup761.ts` does it in 32-bit words) to a module
 * whose memory has at least one page: 128 coefficients per v128 operation. The
 * caller fills the planes ({@link R3_RECIP_LAYOUT}) with f = the reversed
 * x^p − x − 1, g = the reversed input, v = 0 and r = 1, and reads v (and f[0])
 * back. Only the public loop counter decides branches; the same degree bounds
 * as `rq_recip3` stop each pass early, in whole vectors.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { addR3RecipFunction } from "./sntrup761_module.ts";
 * const m = new ModuleBuilder().memory({ initial: 1, maximum: 1 }, "memory");
 * addR3RecipFunction(m);
 * console.log(WebAssembly.validate(m.build())); // true where SIMD is supported
 * ```
 */
export function addR3RecipFunction(m: ModuleBuilder): void {
  const L = R3_RECIP_LAYOUT;
  m.func({ name: "r3_recip", params: [], results: ["i32"] }, (f) => {
    const I32 = "i32" as const, V128 = "v128" as const;
    const n = f.local(I32), delta = f.local(I32), swap = f.local(I32);
    const nz = f.local(I32), neg = f.local(I32), top = f.local(I32), p = f.local(I32);
    const swapV = f.local(V128), nzV = f.local(V128), negV = f.local(V128);
    const am = f.local(V128), as = f.local(V128), bm = f.local(V128), bs = f.local(V128);
    const t = f.local(V128), sm = f.local(V128), ss = f.local(V128), both = f.local(V128);
    const bit0 = (address: number) => i32.and(i32.load(i32.const(0), address), i32.const(1));

    /** Conditionally swaps (am, as) with (bm, bs) under swapV. */
    const swapPair = seq(
      set(t, v128.and(swapV, v128.xor(am, bm))),
      set(am, v128.xor(am, t)),
      set(bm, v128.xor(bm, t)),
      set(t, v128.and(swapV, v128.xor(as, bs))),
      set(as, v128.xor(as, t)),
      set(bs, v128.xor(bs, t)),
    );
    /** Stores (bm, bs) + sign·(am, as) in GF(3), bitsliced, at (mAddr, sAddr) + p. */
    const addSigned = (mAddr: number, sAddr: number) =>
      seq(
        set(sm, v128.and(am, nzV)),
        set(ss, v128.and(v128.xor(as, v128.and(am, negV)), nzV)),
        // both: where b and sign·a are nonzero; t: where they are also equal ("same").
        set(both, v128.and(bm, sm)),
        set(t, v128.and(both, v128.not(v128.xor(bs, ss)))),
        v128.store(p, v128.or(v128.xor(bm, sm), t), mAddr),
        v128.store(
          p,
          v128.or(
            v128.or(v128.and(v128.andnot(bm, sm), bs), v128.and(v128.andnot(sm, bm), ss)),
            v128.andnot(t, bs),
          ),
          sAddr,
        ),
      );
    /** One plane shifted left by a bit (x·v): vector at p, the lane before from the vector below. */
    const shiftedUp = (plane: number) =>
      v128.or(
        i32x4.shl(v128.load(p, plane), i32.const(1)),
        i32x4.shr_u(
          i32x4.shuffle(v128.load(p, plane - 16), v128.load(p, plane), [3, 4, 5, 6]),
          i32.const(31),
        ),
      );
    /** One plane shifted right by a bit (g / x), in place: the lane after from the vector above. */
    const shiftDown = (plane: number) =>
      v128.store(
        p,
        v128.or(
          i32x4.shr_u(v128.load(p, plane), i32.const(1)),
          i32x4.shl(
            i32x4.shuffle(v128.load(p, plane), v128.load(p, plane + 16), [1, 2, 3, 4]),
            i32.const(31),
          ),
        ),
        plane,
      );

    seq(
      set(delta, i32.const(1)),
      set(n, i32.const(0)),
      loop(
        // sign = −g[0]·f[0]: nonzero iff g[0] is, −1 iff g[0] and f[0] have equal signs.
        set(nz, negate(bit0(L.gm))),
        set(neg, i32.and(nz, i32.sub(i32.xor(bit0(L.fs), bit0(L.gs)), i32.const(1)))),
        divstepSwap(swap, delta, nz),
        set(swapV, i32x4.splat(swap)),
        set(nzV, i32x4.splat(nz)),
        set(negV, i32x4.splat(neg)),
        // v = x·v, swap (v, r), r = r + sign·v: vectors from the top down, so the carry is still old.
        set(top, i32.shr_u(i32.add(n, i32.const(1)), i32.const(5))),
        atMost(top, L.words - 1),
        set(p, i32.shl(i32.shr_u(top, i32.const(2)), i32.const(4))),
        block(
          loop(
            set(am, shiftedUp(L.vm)),
            set(as, shiftedUp(L.vs)),
            set(bm, v128.load(p, L.rm)),
            set(bs, v128.load(p, L.rs)),
            swapPair,
            v128.store(p, am, L.vm),
            v128.store(p, as, L.vs),
            addSigned(L.rm, L.rs),
            brIf(1, i32.eqz(p)),
            set(p, i32.sub(p, i32.const(16))),
            br(0),
          ),
        ),
        // swap (f, g), g = g + sign·f, then g = g / x: vectors 0..top, upwards.
        set(top, i32.sub(i32.const(2 * P - 1), n)),
        atMost(top, P),
        set(top, i32.shl(i32.shr_u(top, i32.const(7)), i32.const(4))), // byte offset of its vector
        set(p, i32.const(0)),
        loop(
          set(am, v128.load(p, L.fm)),
          set(as, v128.load(p, L.fs)),
          set(bm, v128.load(p, L.gm)),
          set(bs, v128.load(p, L.gs)),
          swapPair,
          v128.store(p, am, L.fm),
          v128.store(p, as, L.fs),
          addSigned(L.gm, L.gs),
          set(p, i32.add(p, i32.const(16))),
          brIf(0, i32.le_u(p, top)),
        ),
        set(p, i32.const(0)),
        loop(
          shiftDown(L.gm),
          shiftDown(L.gs),
          set(p, i32.add(p, i32.const(16))),
          brIf(0, i32.le_u(p, top)),
        ),
        set(n, i32.add(n, i32.const(1))),
        brIf(0, i32.lt_u(n, i32.const(2 * P - 1))),
      ),
      get(delta),
    )(f);
  });
}

/** Outputs per block of `mult`: eight i32x4 accumulators. */
const BLOCK = 32;

/**
 * Adds `mult(mod3)`: a product f·g in R/q or R/3 with g small (|g| ≤ 2), from
 * the arrays of {@link MULT_LAYOUT} — sntrup761's `Rq_mult_small` and
 * `R3_mult`. The schoolbook product two coefficients of f at a time:
 * `i32x4.dot_i16x8_s` of the pair (f[i], f[i+1]) against four words of
 * `pairs` ((g[m], g[m−1]) for m = k − i … k − i + 3) adds f[i]·g[k−i] +
 * f[i+1]·g[k−i−1] to outputs k … k+3, eight products per operation, 32 outputs
 * held in registers per block. Each sum has at most 761 terms of at most
 * 2295·2, below 2^22 (2^31 is the limit). Then x^p = x + 1 folds the top half
 * down, and each coefficient, a sum of at most 1,521 such terms (under 7.0
 * million), is reduced exactly: mod q by the reference's `Fq_freeze` (exact
 * within ±2·2295², 10.5 million), mod 3 by `F3_freeze` (|x| < 2^14: the R/3
 * sums are at most 1521·1·2).
 *
 * Constant time: loop bounds depend on the public sizes only.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { addMultFunction } from "./sntrup761_module.ts";
 * const m = new ModuleBuilder().memory({ initial: 1, maximum: 1 }, "memory");
 * addMultFunction(m);
 * console.log(WebAssembly.validate(m.build())); // true where SIMD is supported
 * ```
 */
export function addMultFunction(m: ModuleBuilder): void {
  const L = MULT_LAYOUT;
  const pairs0 = L.pairs + 4 * L.pairsBefore; // address of pairs[0]
  m.func({ name: "mult", params: ["i32"], results: [] }, (f, [mod3]) => {
    const I32 = "i32" as const, V128 = "v128" as const;
    const k0 = f.local(I32), i = f.local(I32), iEnd = f.local(I32), a = f.local(I32);
    const k = f.local(I32), x = f.local(I32), fPair = f.local(V128);
    const acc = Array.from({ length: BLOCK / 4 }, () => f.local(V128));
    const zero = v128.const_i32x4([0, 0, 0, 0]);
    seq(
      // product[k0 .. k0 + 31] = sum over i of f[i]·g[k − i], i in pairs from the first
      // that reaches the block (its second term i + 1 ≥ k0 − p + 1: k0 − p, rounded down to
      // even) to the last (k0 + 31, or p − 1).
      set(k0, i32.const(0)),
      loop(
        ...acc.map((v) => set(v, zero)),
        set(i, i32.sub(k0, i32.const(P))),
        ifElse(i32.gt_u(i, i32.const(0x7fffffff)), [set(i, i32.const(0))]), // negative: 0
        set(i, i32.and(i, i32.const(-2))),
        set(iEnd, i32.add(k0, i32.const(BLOCK - 1))),
        atMost(iEnd, P - 1),
        loop(
          set(fPair, i32x4.splat(i32.load(i32.shl(i, i32.const(1)), L.f))),
          // pairs[k0 − i + 4b .. + 3] for block part b: address pairs0 + 4(k0 − i) + 16b.
          set(a, i32.add(i32.shl(i32.sub(k0, i), i32.const(2)), i32.const(pairs0))),
          ...acc.map((v, b) =>
            set(v, i32x4.add(v, i32x4.dot_i16x8_s(fPair, v128.load(a, 16 * b))))
          ),
          set(i, i32.add(i, i32.const(2))),
          brIf(0, i32.le_u(i, iEnd)),
        ),
        set(a, i32.add(i32.shl(k0, i32.const(2)), i32.const(L.product))),
        ...acc.map((v, b) => v128.store(a, v, 16 * b)),
        set(k0, i32.add(k0, i32.const(BLOCK))),
        brIf(0, i32.lt_u(k0, i32.const(2 * P - 1))),
      ),
      // x^p = x + 1: product[k − p] and product[k − p + 1] take product[k], k from 2p − 2 down.
      set(k, i32.const(2 * P - 2)),
      loop(
        set(x, i32.load(i32.shl(k, i32.const(2)), L.product)),
        set(a, i32.shl(i32.sub(k, i32.const(P)), i32.const(2))),
        i32.store(a, i32.add(i32.load(a, L.product), x), L.product),
        i32.store(a, i32.add(i32.load(a, L.product + 4), x), L.product + 4),
        set(k, i32.sub(k, i32.const(1))),
        brIf(0, i32.ge_u(k, i32.const(P))),
      ),
      // Reduce each coefficient exactly: mod 3 (F3_freeze) or mod q (Fq_freeze).
      set(k, i32.const(0)),
      loop(
        set(x, i32.load(i32.shl(k, i32.const(2)), L.product)),
        ifElse(
          mod3!,
          [
            set(
              x,
              i32.sub(
                x,
                i32.mul(
                  i32.const(3),
                  i32.shr_s(i32.add(i32.mul(x, i32.const(10923)), i32.const(16384)), i32.const(15)),
                ),
              ),
            ),
          ],
          [fqFreeze(x)],
        ),
        i32.store16(i32.shl(k, i32.const(1)), x, L.out),
        set(k, i32.add(k, i32.const(1))),
        brIf(0, i32.lt_u(k, i32.const(P))),
      ),
    )(f);
  });
}

/**
 * The module's bytes: one page of memory (exported as `memory`), `rq_recip3`,
 * `r3_recip` and `mult`. `sntrup761_module_bytes.ts` holds them prebuilt (the tests
 * check they are these), so a process need not run this builder.
 *
 * @example
 * ```ts
 * import { buildSntrup761Module } from "./sntrup761_module.ts";
 * console.log(WebAssembly.validate(buildSntrup761Module())); // true where SIMD is supported
 * ```
 */
export function buildSntrup761Module(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().memory({ initial: 1, maximum: 1 }, "memory");
  addRqRecip3Function(m);
  addR3RecipFunction(m);
  addMultFunction(m);
  return m.build();
}
