/**
 * Poly1305 (RFC 8439 §2.5) as WebAssembly functions, emitted with the builder in
 * this folder: the "donna-32" representation — five 26-bit limbs, 64-bit
 * products (`i64.mul`), 25 multiplications per 16-byte block.
 *
 * Blocks are absorbed two at a time as h = (h + m1)·r² + m2·r: the m2·r half
 * does not depend on h, so the CPU overlaps it with the h·r² half, and one carry
 * chain serves two blocks (the chain, not the multiplies, is the critical path
 * of the one-block form). Bounds: limbs of h stay below 2^26 + 2^8 after a carry,
 * so (h + m1) < 2^27.1 and each of the ten products summed per column is below
 * 2^27.1 · 5·2^26 < 2^55.5; ten of them stay below 2^59, inside a u64.
 *
 * State layout (little-endian u32 words from the state pointer `st`):
 *
 * | bytes  | contents                                  |
 * | :----- | :---------------------------------------- |
 * | 0–19   | r, clamped, five 26-bit limbs             |
 * | 20–39  | h, the accumulator, five limbs            |
 * | 40–55  | s, the second key half (the "pad")        |
 * | 56–75  | r² mod 2^130 − 5, five 26-bit limbs       |
 * | 80–95  | the padded last block (`poly_last`)       |
 *
 * Exports: `poly_init(st, key)`, `poly_blocks(st, p, len, hibit)` (len a multiple
 * of 16; hibit 1 for full blocks, 0 for the padded last one), `poly_last(st, p,
 * len)` (a final partial block of len < 16 bytes, padded as RFC 8439 says) and
 * `poly_finish(st, out)` (16 bytes at out).
 *
 * @module
 */

import {
  block,
  brIf,
  call,
  type Code,
  i32,
  i64,
  loop,
  type Operand,
  seq,
  set,
} from "./instructions.ts";
import type { FunctionBuilder, Local, ModuleBuilder } from "./module_builder.ts";

/**
 * Bytes of state per Poly1305 instance (see the layout table).
 *
 * @example
 * ```ts
 * import { POLY1305_STATE_BYTES } from "./poly1305_module.ts";
 * const saved = new Uint32Array(POLY1305_STATE_BYTES / 4);
 * ```
 */
export const POLY1305_STATE_BYTES = 96;

const R = 0, H = 20, PAD = 40, R2 = 56, LAST = 80;
const MASK26 = 0x3ffffff;

/**
 * The exports {@link addPoly1305Functions} adds, as JavaScript sees them.
 *
 * @example
 * ```ts
 * import type { Poly1305Exports } from "./poly1305_module.ts";
 * function tag(x: Poly1305Exports, st: number, key: number, p: number, out: number): void {
 *   x.poly_init(st, key);
 *   x.poly_blocks(st, p, 64, 1);
 *   x.poly_finish(st, out);
 * }
 * ```
 */
export interface Poly1305Exports {
  /** Reads the 32-byte key at `key`; sets r, r², pad, and h = 0. */
  poly_init(st: number, key: number): void;
  /** Absorbs `len` bytes (a multiple of 16) at `p`; `hibit` is 1 except for the padded last block. */
  poly_blocks(st: number, p: number, len: number, hibit: number): void;
  /** Absorbs a final partial block of `len` (0..15) bytes at `p`, padded with 1 then zeros. */
  poly_last(st: number, p: number, len: number): void;
  /** Reduces h, adds the pad and writes the 16-byte tag at `out`. */
  poly_finish(st: number, out: number): void;
}

/**
 * Function indices of the Poly1305 functions in the module, for `call`.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { addPoly1305Functions, type Poly1305Functions } from "./poly1305_module.ts";
 * const fns: Poly1305Functions = addPoly1305Functions(new ModuleBuilder().memory({ initial: 1 }));
 * console.log(fns.finish); // 3
 * ```
 */
export interface Poly1305Functions {
  /** `poly_init(st, key)`. */
  readonly init: number;
  /** `poly_blocks(st, p, len, hibit)`. */
  readonly blocks: number;
  /** `poly_last(st, p, len)`. */
  readonly last: number;
  /** `poly_finish(st, out)`. */
  readonly finish: number;
}

const mask26 = (x: Operand) => i64.and(x, i64.const(MASK26));
const shr = (x: Operand, n: number) => i64.shr_u(x, i64.const(n));
const times5 = (x: Operand) => i64.mul(x, i64.const(5));

function locals(f: FunctionBuilder, n: number): Local[] {
  return Array.from({ length: n }, () => f.local("i64"));
}

function loadLimbs(into: Local[], st: Local, at: number): Code {
  return seq(...into.map((l, i) => set(l, i64.load32_u(st, at + 4 * i))));
}

function storeLimbs(st: Local, at: number, from: Local[]): Code {
  return seq(...from.map((l, i) => i64.store32(st, l, at + 4 * i)));
}

/** h += m, limb by limb. */
function absorb(h: readonly Local[], m: readonly Code[]): Code {
  return seq(...h.map((hi, i) => set(hi, i64.add(hi, m[i]!))));
}

function zip<A, B>(a: readonly A[], b: readonly B[]): [A, B][] {
  return a.map((x, i) => [x, b[i]!]);
}

/**
 * The five columns of a·b mod 2^130 − 5 (schoolbook, with the limbs that pass
 * 2^130 wrapped around times 5: `b5` holds 5·b1..5·b4 at indices 1..4).
 */
function columns(a: readonly Operand[], b: readonly Operand[], b5: readonly Operand[]): Code[] {
  const cols: Code[] = [];
  for (let k = 0; k < 5; k++) {
    const terms: Code[] = [];
    for (let i = 0; i < 5; i++) {
      const j = k - i;
      terms.push(j >= 0 ? i64.mul(a[i]!, b[j]!) : i64.mul(a[i]!, b5[j + 5]!));
    }
    cols.push(i64.add(terms[0]!, terms[1]!, ...terms.slice(2)));
  }
  return cols;
}

/** Carries the column sums `d` into 26-bit limbs `h` (the top carry wraps times 5). */
function carry(d: Local[], h: Local[], c: Local): Code {
  return seq(
    set(c, shr(d[0]!, 26)),
    set(h[0]!, mask26(d[0]!)),
    set(d[1]!, i64.add(d[1]!, c)),
    set(c, shr(d[1]!, 26)),
    set(h[1]!, mask26(d[1]!)),
    set(d[2]!, i64.add(d[2]!, c)),
    set(c, shr(d[2]!, 26)),
    set(h[2]!, mask26(d[2]!)),
    set(d[3]!, i64.add(d[3]!, c)),
    set(c, shr(d[3]!, 26)),
    set(h[3]!, mask26(d[3]!)),
    set(d[4]!, i64.add(d[4]!, c)),
    set(c, shr(d[4]!, 26)),
    set(h[4]!, mask26(d[4]!)),
    set(h[0]!, i64.add(h[0]!, times5(c))),
    set(c, shr(h[0]!, 26)),
    set(h[0]!, mask26(h[0]!)),
    set(h[1]!, i64.add(h[1]!, c)),
  );
}

/** The five 26-bit limbs of the 16-byte block at p + off, with `top` (2^128 or 0) on limb 4. */
function messageLimbs(p: Local, off: number, top: Local): Code[] {
  return [
    mask26(i64.load32_u(p, off)),
    mask26(shr(i64.load32_u(p, off + 3), 2)),
    mask26(shr(i64.load32_u(p, off + 6), 4)),
    mask26(shr(i64.load32_u(p, off + 9), 6)),
    i64.or(shr(i64.load32_u(p, off + 12), 8), top),
  ];
}

/**
 * The locals of Poly1305's two-block step, for functions that absorb blocks
 * inline (the whole-packet functions interleave it with ChaCha20's rounds).
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { polyRegisters } from "./poly1305_module.ts";
 * new ModuleBuilder().func({ params: [], results: [] }, (f) => void polyRegisters(f));
 * ```
 */
export interface PolyRegisters {
  /** r, r·5, r², r²·5, h, the column sums and the second block's limbs. */
  readonly r: Local[];
  /** 5·r limbs (indices 1..4 used). */
  readonly r5: Local[];
  /** r² limbs. */
  readonly q: Local[];
  /** 5·r² limbs. */
  readonly q5: Local[];
  /** The accumulator. */
  readonly h: Local[];
  /** Column sums. */
  readonly d: Local[];
  /** The second block of a pair. */
  readonly m2: Local[];
  /** Carry. */
  readonly c: Local;
  /** 2^128 as limb 4's addend (or 0 for a padded last block). */
  readonly top: Local;
}

/**
 * Allocates the {@link PolyRegisters} in `f`.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { polyRegisters } from "./poly1305_module.ts";
 * new ModuleBuilder().func({ params: [], results: [] }, (f) => {
 *   console.log(polyRegisters(f).h.length); // 5
 * });
 * ```
 */
export function polyRegisters(f: FunctionBuilder): PolyRegisters {
  return {
    r: locals(f, 5),
    r5: locals(f, 5),
    q: locals(f, 5),
    q5: locals(f, 5),
    h: locals(f, 5),
    d: locals(f, 5),
    m2: locals(f, 5),
    c: f.local("i64"),
    top: f.local("i64"),
  };
}

/**
 * Loads r, r², h from the state at `st` into `g`, derives the ·5 multiples and
 * sets `top` from `hibit` (1 for full blocks). With `constants` (a local holding
 * the address of 160 bytes), also stores r, 5r, r², 5r² there as u64s for
 * {@link polyPairPieces} to read.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { i32 } from "./instructions.ts";
 * import { polyLoadState, polyRegisters } from "./poly1305_module.ts";
 * new ModuleBuilder().memory({ initial: 1 }).func({ params: ["i32"], results: [] }, (f, [st]) =>
 *   polyLoadState(polyRegisters(f), st!, i32.const(1))(f)
 * );
 * ```
 */
export function polyLoadState(
  g: PolyRegisters,
  st: Local,
  hibit: Operand,
  constants?: Local,
): Code {
  return seq(
    loadLimbs(g.r, st, R),
    loadLimbs(g.q, st, R2),
    loadLimbs(g.h, st, H),
    ...g.r5.map((l, i) => set(l, times5(g.r[i]!))),
    ...g.q5.map((l, i) => set(l, times5(g.q[i]!))),
    set(g.top, i64.shl(i64.extend_i32_u(hibit), i64.const(24))),
    ...(constants === undefined
      ? []
      : [g.r, g.r5, g.q, g.q5].flatMap((limbs, k) =>
        limbs.map((l, i) => i64.store(constants, l, 40 * k + 8 * i))
      )),
  );
}

/**
 * Stores the accumulator h of `g` back into the state at `st`.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { polyRegisters, polyStoreAccumulator } from "./poly1305_module.ts";
 * new ModuleBuilder().memory({ initial: 1 }).func({ params: ["i32"], results: [] }, (f, [st]) =>
 *   polyStoreAccumulator(polyRegisters(f), st!)(f)
 * );
 * ```
 */
export function polyStoreAccumulator(g: PolyRegisters, st: Local): Code {
  return storeLimbs(st, H, g.h);
}

/**
 * h = (h + m1)·r² + m2·r for the two blocks at `p + off`, as eight pieces
 * (absorb m1, load m2, the five columns, the carry) that a caller may spread
 * between other work; emitted in order they are one step. With `constants`,
 * r, 5r, r², 5r² are read from memory there (see {@link polyLoadState}) instead
 * of locals: inside ChaCha20's rounds that leaves the registers to the vector
 * state, measured 20% faster on JavaScriptCore than twenty more live locals.
 * The address is a local, not a constant, so the compiler cannot prove the
 * loads independent of the rounds' stores and hoist them into registers again
 * (JSC did: +5% with the local).
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { seq } from "./instructions.ts";
 * import { polyPairPieces, polyRegisters } from "./poly1305_module.ts";
 * new ModuleBuilder().memory({ initial: 1 }).func({ params: ["i32"], results: [] }, (f, [p]) =>
 *   seq(...polyPairPieces(polyRegisters(f), p!, 0))(f)
 * );
 * ```
 */
export function polyPairPieces(
  g: PolyRegisters,
  p: Local,
  off: number,
  constants?: Local,
): Code[] {
  const { h, d, m2, c, top } = g;
  const fromMemory = (k: number) =>
    [0, 1, 2, 3, 4].map((i) => i64.load(constants!, 40 * k + 8 * i));
  const mem = constants !== undefined;
  const r: readonly Operand[] = mem ? fromMemory(0) : g.r;
  const r5: readonly Operand[] = mem ? fromMemory(1) : g.r5;
  const q: readonly Operand[] = mem ? fromMemory(2) : g.q;
  const q5: readonly Operand[] = mem ? fromMemory(3) : g.q5;
  return [
    absorb(h, messageLimbs(p, off, top)),
    seq(...messageLimbs(p, off + 16, top).map((x, i) => set(m2[i]!, x))),
    ...zip(columns(h, q, q5), columns(m2, r, r5)).map(([hq, mr], i) => set(d[i]!, i64.add(hq, mr))),
    carry(d, h, c),
  ];
}

/**
 * Adds the Poly1305 functions to a module (whose memory holds the states and
 * data; see the layout in the module doc) and returns their indices.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { addPoly1305Functions } from "./poly1305_module.ts";
 * const m = new ModuleBuilder().memory({ initial: 1 }, "memory");
 * addPoly1305Functions(m);
 * console.log(WebAssembly.validate(m.build())); // true
 * ```
 */
export function addPoly1305Functions(m: ModuleBuilder): Poly1305Functions {
  const init = m.func(
    { name: "poly_init", params: ["i32", "i32"], results: [] },
    (f, [st, key]) => {
      const s = st!, k = key!;
      const r = locals(f, 5), r5 = locals(f, 5), d = locals(f, 5), r2 = locals(f, 5);
      const c = f.local("i64");
      const clamp = [0x3ffffff, 0x3ffff03, 0x3ffc0ff, 0x3f03fff, 0x00fffff];
      seq(
        // r = key[0..16] & 0x0ffffffc0ffffffc0ffffffc0fffffff, split at bits 26, 52, 78, 104.
        ...r.map((l, i) =>
          set(l, i64.and(shr(i64.load32_u(k, 3 * i), 2 * i), i64.const(clamp[i]!)))
        ),
        storeLimbs(s, R, r),
        ...[0, 1, 2, 3, 4].map((i) => i64.store32(s, i64.const(0), H + 4 * i)),
        ...[0, 1, 2, 3].map((i) => i32.store(s, i32.load(k, 16 + 4 * i), PAD + 4 * i)),
        ...r5.map((l, i) => set(l, times5(r[i]!))),
        ...columns(r, r, r5).map((col, i) => set(d[i]!, col)),
        carry(d, r2, c),
        storeLimbs(s, R2, r2),
      )(f);
    },
  );

  const blocks = m.func(
    { name: "poly_blocks", params: ["i32", "i32", "i32", "i32"], results: [] },
    (f, [st, ptr, len, hibit]) => {
      const s = st!, p = ptr!;
      const g = polyRegisters(f);
      const { r, r5, h, d, c, top } = g;
      const pairsEnd = f.local("i32"), end = f.local("i32");
      seq(
        polyLoadState(g, s, hibit!),
        set(end, i32.add(p, len!)),
        set(pairsEnd, i32.add(p, i32.and(len!, i32.const(~31)))),
        // Pairs: h = (h + m1)·r² + m2·r.
        block(
          brIf(0, i32.ge_u(p, pairsEnd)),
          loop(
            ...polyPairPieces(g, p, 0),
            set(p, i32.add(p, i32.const(32))),
            brIf(0, i32.lt_u(p, pairsEnd)),
          ),
        ),
        // An odd block left: h = (h + m)·r.
        block(
          brIf(0, i32.ge_u(p, end)),
          absorb(h, messageLimbs(p, 0, top)),
          ...columns(h, r, r5).map((col, i) => set(d[i]!, col)),
          carry(d, h, c),
        ),
        polyStoreAccumulator(g, s),
      )(f);
    },
  );

  const last = m.func(
    { name: "poly_last", params: ["i32", "i32", "i32"], results: [] },
    (f, [st, ptr, len]) => {
      const s = st!, p = ptr!, n = len!;
      const i = f.local("i32");
      block(
        brIf(0, i32.eqz(n)),
        i64.store(s, i64.const(0), LAST),
        i64.store(s, i64.const(0), LAST + 8),
        loop(
          i32.store8(i32.add(s, i), i32.load8_u(i32.add(p, i)), LAST),
          set(i, i32.add(i, i32.const(1))),
          brIf(0, i32.lt_u(i, n)),
        ),
        i32.store8(i32.add(s, n), i32.const(1), LAST),
        call(blocks, s, i32.add(s, i32.const(LAST)), i32.const(16), i32.const(0)),
      )(f);
    },
  );

  const finish = m.func(
    { name: "poly_finish", params: ["i32", "i32"], results: [] },
    (f, [st, out]) => {
      const s = st!, o = out!;
      const h = locals(f, 5), g = locals(f, 5);
      const c = f.local("i64"), sel = f.local("i64"), acc = f.local("i64");
      seq(
        loadLimbs(h, s, H),
        // Full carry: every limb below 2^26, h < 2^130 + small, then fold once more.
        set(c, shr(h[1]!, 26)),
        set(h[1]!, mask26(h[1]!)),
        set(h[2]!, i64.add(h[2]!, c)),
        set(c, shr(h[2]!, 26)),
        set(h[2]!, mask26(h[2]!)),
        set(h[3]!, i64.add(h[3]!, c)),
        set(c, shr(h[3]!, 26)),
        set(h[3]!, mask26(h[3]!)),
        set(h[4]!, i64.add(h[4]!, c)),
        set(c, shr(h[4]!, 26)),
        set(h[4]!, mask26(h[4]!)),
        set(h[0]!, i64.add(h[0]!, times5(c))),
        set(c, shr(h[0]!, 26)),
        set(h[0]!, mask26(h[0]!)),
        set(h[1]!, i64.add(h[1]!, c)),
        // g = h + 5 − 2^130; h ≥ p exactly when g does not go negative.
        set(c, i64.const(5)),
        ...[0, 1, 2, 3].map((i) =>
          seq(set(g[i]!, i64.add(h[i]!, c)), set(c, shr(g[i]!, 26)), set(g[i]!, mask26(g[i]!)))
        ),
        set(g[4]!, i64.sub(i64.add(h[4]!, c), i64.const(1 << 26))),
        // sel = all ones when g ≥ 0 (use g), zero when negative (keep h): no branch.
        set(sel, i64.sub(shr(g[4]!, 63), i64.const(1))),
        ...[0, 1, 2, 3, 4].map((i) =>
          set(h[i]!, i64.or(i64.and(g[i]!, sel), i64.and(h[i]!, i64.xor(sel, i64.const(-1)))))
        ),
        // Pack into four 32-bit words and add the pad mod 2^128.
        set(acc, i64.const(0)),
        ...[
          i64.or(h[0]!, i64.shl(h[1]!, i64.const(26))),
          i64.or(shr(h[1]!, 6), i64.shl(h[2]!, i64.const(20))),
          i64.or(shr(h[2]!, 12), i64.shl(h[3]!, i64.const(14))),
          i64.or(shr(h[3]!, 18), i64.shl(h[4]!, i64.const(8))),
        ].map((word, i) =>
          seq(
            set(
              acc,
              i64.add(
                i64.and(word, i64.const(0xffffffff)),
                i64.load32_u(s, PAD + 4 * i),
                shr(acc, 32),
              ),
            ),
            i64.store32(o, acc, 4 * i),
          )
        ),
      )(f);
    },
  );
  return { init, blocks, last, finish };
}
