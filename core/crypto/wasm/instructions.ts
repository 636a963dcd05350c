/**
 * The WebAssembly instructions the kernels here use, as small functions that
 * emit byte code into a {@link FunctionBuilder} — named after the text format
 * (`i64.mul`, `local.set`, `i32x4.add`), so the kernels read like WAT written
 * as nested expressions:
 *
 * ```text
 * set(d0, i64.add(i64.mul(h0, r0), i64.mul(h1, s4)))(f);
 * ```
 *
 * An {@link Operand} is a local (read with `local.get`) or a {@link Code}
 * (anything that leaves one value on the stack). Opcodes are from the
 * WebAssembly Core Specification §5.4 and, for SIMD (prefix 0xfd), the
 * fixed-width SIMD proposal merged into WebAssembly 2.0.
 *
 * @module
 */

import type { FunctionBuilder, Local } from "./module_builder.ts";

/**
 * Emits instructions into a function body.
 *
 * @example
 * ```ts
 * import type { Code } from "./instructions.ts";
 * const nop: Code = (f) => void f.byte(0x01);
 * ```
 */
export type Code = (f: FunctionBuilder) => void;

/**
 * A value: a local (read with `local.get`) or code that pushes one value.
 *
 * @example
 * ```ts
 * import { i32, type Operand } from "./instructions.ts";
 * const seven: Operand = i32.const(7);
 * ```
 */
export type Operand = Local | Code;

function push(f: FunctionBuilder, x: Operand): void {
  if (typeof x === "function") x(f);
  else f.byte(0x20).unsigned(x.index); // local.get
}

/**
 * `local.get`: the value of a local, as code.
 *
 * @example
 * ```ts
 * import { get } from "./instructions.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(1);
 * get({ index: 0, type: "i32" })(f);
 * ```
 */
export function get(l: Local): Code {
  return (f) => void f.byte(0x20).unsigned(l.index);
}

/**
 * `local.set`: stores a value into a local.
 *
 * @example
 * ```ts
 * import { i64, set } from "./instructions.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(0);
 * set(f.local("i64"), i64.const(5n))(f);
 * ```
 */
export function set(l: Local, value: Operand): Code {
  return (f) => {
    push(f, value);
    f.byte(0x21).unsigned(l.index);
  };
}

/**
 * `local.tee`: stores a value into a local and leaves it on the stack.
 *
 * @example
 * ```ts
 * import { i32, tee } from "./instructions.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(0);
 * const x = f.local("i32");
 * i32.add(tee(x, i32.const(1)), x)(f); // x = 1; x + x
 * ```
 */
export function tee(l: Local, value: Operand): Code {
  return (f) => {
    push(f, value);
    f.byte(0x22).unsigned(l.index);
  };
}

/**
 * Emits several statements in order.
 *
 * @example
 * ```ts
 * import { i32, seq, set } from "./instructions.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(0);
 * const a = f.local("i32"), b = f.local("i32");
 * seq(set(a, i32.const(1)), set(b, a))(f);
 * ```
 */
export function seq(...codes: Code[]): Code {
  return (f) => {
    for (const c of codes) c(f);
  };
}

/**
 * `call`: calls function `index` with the arguments pushed in order.
 *
 * @example
 * ```ts
 * import { call, i32 } from "./instructions.ts";
 * const c = call(0, i32.const(1), i32.const(2));
 * ```
 */
export function call(index: number, ...args: Operand[]): Code {
  return (f) => {
    for (const a of args) push(f, a);
    f.byte(0x10).unsigned(index);
  };
}

/**
 * `block ... end` (no result): `br 0` inside jumps past its end.
 *
 * @example
 * ```ts
 * import { block, br } from "./instructions.ts";
 * const skip = block(br(0));
 * ```
 */
export function block(...body: Code[]): Code {
  return (f) => {
    f.byte(0x02, 0x40);
    for (const c of body) c(f);
    f.byte(0x0b);
  };
}

/**
 * `loop ... end` (no result): `br 0` inside jumps back to its start.
 *
 * @example Count a local down to zero
 * ```ts
 * import { brIf, i32, loop, set } from "./instructions.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(0);
 * const n = f.local("i32");
 * loop(set(n, i32.sub(n, i32.const(1))), brIf(0, n))(f);
 * ```
 */
export function loop(...body: Code[]): Code {
  return (f) => {
    f.byte(0x03, 0x40);
    for (const c of body) c(f);
    f.byte(0x0b);
  };
}

/**
 * `if ... else ... end` (no result).
 *
 * @example
 * ```ts
 * import { i32, ifElse, set } from "./instructions.ts";
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(1);
 * const x = f.local("i32");
 * ifElse({ index: 0, type: "i32" }, [set(x, i32.const(1))], [set(x, i32.const(2))])(f);
 * ```
 */
export function ifElse(cond: Operand, then: Code[], otherwise: Code[] = []): Code {
  return (f) => {
    push(f, cond);
    f.byte(0x04, 0x40);
    for (const c of then) c(f);
    if (otherwise.length > 0) {
      f.byte(0x05);
      for (const c of otherwise) c(f);
    }
    f.byte(0x0b);
  };
}

/**
 * `br depth`: jumps to the end of the `depth`-th enclosing block (start of a loop).
 *
 * @example
 * ```ts
 * import { br, loop } from "./instructions.ts";
 * const forever = loop(br(0));
 * ```
 */
export function br(depth: number): Code {
  return (f) => void f.byte(0x0c).unsigned(depth);
}

/**
 * `br_if depth`: branches when `cond` (an i32) is non-zero.
 *
 * @example
 * ```ts
 * import { block, brIf, i32 } from "./instructions.ts";
 * const maybeSkip = block(brIf(0, i32.const(1)));
 * ```
 */
export function brIf(depth: number, cond: Operand): Code {
  return (f) => {
    push(f, cond);
    f.byte(0x0d).unsigned(depth);
  };
}

function unary(opcode: number) {
  return (a: Operand): Code => (f) => {
    push(f, a);
    f.byte(opcode);
  };
}

function binary(opcode: number) {
  return (a: Operand, b: Operand): Code => (f) => {
    push(f, a);
    push(f, b);
    f.byte(opcode);
  };
}

/**
 * A commutative, associative operation over any number of operands, emitted as
 * a balanced tree ((a+b)+(c+d))+e: shorter dependency chains than a left fold.
 */
function tree(opcode: number) {
  const emit = (f: FunctionBuilder, xs: readonly Operand[]): void => {
    if (xs.length === 1) return push(f, xs[0]!);
    const half = (xs.length + 1) >> 1;
    emit(f, xs.slice(0, half));
    emit(f, xs.slice(half));
    f.byte(opcode);
  };
  return (a: Operand, b: Operand, ...more: Operand[]): Code => (f) => emit(f, [a, b, ...more]);
}

/** A load: address operand, then alignment (log2 bytes) and static offset. */
function load(opcode: number, align: number, prefix = false) {
  return (addr: Operand, offset = 0): Code => (f) => {
    push(f, addr);
    if (prefix) f.byte(0xfd).unsigned(opcode);
    else f.byte(opcode);
    f.unsigned(align).unsigned(offset);
  };
}

/** A store: address operand, value operand, then alignment and offset. */
function store(opcode: number, align: number, prefix = false) {
  return (addr: Operand, value: Operand, offset = 0): Code => (f) => {
    push(f, addr);
    push(f, value);
    if (prefix) f.byte(0xfd).unsigned(opcode);
    else f.byte(opcode);
    f.unsigned(align).unsigned(offset);
  };
}

/**
 * i32 instructions.
 *
 * @example
 * ```ts
 * import { i32 } from "./instructions.ts";
 * const sum = i32.add(i32.const(2), i32.const(3));
 * ```
 */
export const i32 = {
  /** `i32.const`: a number in −2^31..2^32−1 (taken modulo 2^32). */
  const: (value: number): Code => (f) => void f.byte(0x41).signed(value),
  /** `i32.load` (natural alignment hint; unaligned addresses work). */
  load: load(0x28, 2),
  /** `i32.load16_s`: two bytes, sign-extended. */
  load16_s: load(0x2e, 1),
  /** `i32.load8_u`. */
  load8_u: load(0x2d, 0),
  /** `i32.store`. */
  store: store(0x36, 2),
  /** `i32.store16`: the low two bytes. */
  store16: store(0x3b, 1),
  /** `i32.store8`. */
  store8: store(0x3a, 0),
  /** `i32.eqz`. */
  eqz: unary(0x45),
  /** `i32.eq`. */
  eq: binary(0x46),
  /** `i32.ne`. */
  ne: binary(0x47),
  /** `i32.lt_u`. */
  lt_u: binary(0x49),
  /** `i32.gt_u`. */
  gt_u: binary(0x4b),
  /** `i32.le_u`. */
  le_u: binary(0x4d),
  /** `i32.ge_u`. */
  ge_u: binary(0x4f),
  /** `i32.add` (several operands: a balanced tree of adds). */
  add: tree(0x6a),
  /** `i32.sub`. */
  sub: binary(0x6b),
  /** `i32.mul`. */
  mul: binary(0x6c),
  /** `i32.and`. */
  and: binary(0x71),
  /** `i32.or`. */
  or: tree(0x72),
  /** `i32.xor`. */
  xor: tree(0x73),
  /** `i32.shl`. */
  shl: binary(0x74),
  /** `i32.shr_s`. */
  shr_s: binary(0x75),
  /** `i32.shr_u`. */
  shr_u: binary(0x76),
  /** `i32.rotl`. */
  rotl: binary(0x77),
  /** `i32.wrap_i64`. */
  wrap_i64: unary(0xa7),
} as const;

/**
 * i64 instructions.
 *
 * @example
 * ```ts
 * import { i64 } from "./instructions.ts";
 * const product = i64.mul(i64.const(1n << 26n), i64.const(5n));
 * ```
 */
export const i64 = {
  /** `i64.const`: a bigint in −2^63..2^64−1 (or a safe integer number). */
  const: (value: bigint | number): Code => (f) =>
    void f.byte(0x42).signed(typeof value === "number" ? BigInt(value) : value),
  /** `i64.load`. */
  load: load(0x29, 3),
  /** `i64.load32_u`: four bytes, zero-extended. */
  load32_u: load(0x35, 2),
  /** `i64.store`. */
  store: store(0x37, 3),
  /** `i64.store32`: the low four bytes. */
  store32: store(0x3e, 2),
  /** `i64.eqz`. */
  eqz: unary(0x50),
  /** `i64.add` (several operands: a balanced tree of adds). */
  add: tree(0x7c),
  /** `i64.sub`. */
  sub: binary(0x7d),
  /** `i64.mul`. */
  mul: binary(0x7e),
  /** `i64.and`. */
  and: binary(0x83),
  /** `i64.or`. */
  or: tree(0x84),
  /** `i64.xor`. */
  xor: tree(0x85),
  /** `i64.shl`. */
  shl: binary(0x86),
  /** `i64.shr_s`. */
  shr_s: binary(0x87),
  /** `i64.shr_u`. */
  shr_u: binary(0x88),
  /** `i64.extend_i32_s`. */
  extend_i32_s: unary(0xac),
  /** `i64.extend_i32_u`. */
  extend_i32_u: unary(0xad),
} as const;

function simd(opcode: number) {
  return (...args: Operand[]): Code => (f) => {
    for (const a of args) push(f, a);
    f.byte(0xfd).unsigned(opcode);
  };
}

/**
 * v128 instructions (SIMD: the prefix 0xfd, then the opcode as LEB128).
 *
 * @example
 * ```ts
 * import { i32, v128 } from "./instructions.ts";
 * const sixteenBytes = v128.load(i32.const(64));
 * ```
 */
export const v128 = {
  /** `v128.const` from four i32 lanes. */
  const_i32x4: (lanes: readonly [number, number, number, number]): Code => (f) => {
    f.byte(0xfd).unsigned(0x0c);
    for (const l of lanes) f.byte(l & 0xff, (l >>> 8) & 0xff, (l >>> 16) & 0xff, (l >>> 24) & 0xff);
  },
  /** `v128.load`. */
  load: load(0x00, 4, true),
  /** `v128.store`. */
  store: store(0x0b, 4, true),
  /** `v128.and`. */
  and: simd(0x4e) as (a: Operand, b: Operand) => Code,
  /** `v128.or`. */
  or: simd(0x50) as (a: Operand, b: Operand) => Code,
  /** `v128.xor`. */
  xor: simd(0x51) as (a: Operand, b: Operand) => Code,
  /** `v128.not`. */
  not: simd(0x4d) as (a: Operand) => Code,
  /** `v128.andnot`: a & ~b. */
  andnot: simd(0x4f) as (a: Operand, b: Operand) => Code,
  /** `v128.bitselect`: the bits of `a` where `mask` has ones, of `b` elsewhere. */
  bitselect: simd(0x52) as (a: Operand, b: Operand, mask: Operand) => Code,
} as const;

/**
 * i8x16 instructions.
 *
 * @example Rotate every 32-bit lane left by 8 bits
 * ```ts
 * import { i8x16, i32, v128 } from "./instructions.ts";
 * const x = v128.load(i32.const(0));
 * const r = i8x16.shuffle(x, x, [3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14]);
 * ```
 */
export const i8x16 = {
  /** `i8x16.shuffle`: byte i of the result is byte `lanes[i]` of a‖b (0..31). */
  shuffle: (a: Operand, b: Operand, lanes: readonly number[]): Code => (f) => {
    if (lanes.length !== 16 || lanes.some((l) => !(l >= 0 && l < 32))) {
      throw new RangeError("i8x16.shuffle needs 16 lane indices in 0..31");
    }
    push(f, a);
    push(f, b);
    f.byte(0xfd).unsigned(0x0d).byte(...lanes);
  },
} as const;

/**
 * i16x8 instructions.
 *
 * @example
 * ```ts
 * import { i16x8, i32 } from "./instructions.ts";
 * const q = i16x8.splat(i32.const(4591));
 * ```
 */
export const i16x8 = {
  /** `i16x8.splat` (the low 16 bits of an i32). */
  splat: simd(0x10) as (a: Operand) => Code,
  /** `i16x8.q15mulr_sat_s`: (a·b + 2^14) >> 15, saturated (only −2^15·−2^15 saturates). */
  q15mulr_sat_s: simd(0x82) as (a: Operand, b: Operand) => Code,
  /** `i16x8.sub` (wrapping). */
  sub: simd(0x91) as (a: Operand, b: Operand) => Code,
  /** `i16x8.mul` (the low 16 bits of each product). */
  mul: simd(0x95) as (a: Operand, b: Operand) => Code,
} as const;

/**
 * i32x4 instructions.
 *
 * @example
 * ```ts
 * import { i32, i32x4 } from "./instructions.ts";
 * const fours = i32x4.splat(i32.const(4));
 * ```
 */
export const i32x4 = {
  /** `i32x4.splat`. */
  splat: simd(0x11) as (a: Operand) => Code,
  /** `i32x4.extract_lane`. */
  extract_lane: (a: Operand, lane: number): Code => (f) => {
    push(f, a);
    f.byte(0xfd).unsigned(0x1b).byte(lane);
  },
  /** `i32x4.replace_lane`. */
  replace_lane: (a: Operand, lane: number, value: Operand): Code => (f) => {
    push(f, a);
    push(f, value);
    f.byte(0xfd).unsigned(0x1c).byte(lane);
  },
  /** `i32x4.mul` (low 32 bits of each product). */
  mul: simd(0xb5) as (a: Operand, b: Operand) => Code,
  /** `i32x4.shl` (the shift count is an i32). */
  shl: simd(0xab) as (a: Operand, count: Operand) => Code,
  /** `i32x4.shr_u`. */
  shr_u: simd(0xad) as (a: Operand, count: Operand) => Code,
  /** `i32x4.add`. */
  add: simd(0xae) as (a: Operand, b: Operand) => Code,
  /** `i32x4.dot_i16x8_s`: lane i = a[2i]·b[2i] + a[2i+1]·b[2i+1], the i16 lanes signed. */
  dot_i16x8_s: simd(0xba) as (a: Operand, b: Operand) => Code,
  /**
   * A 32-bit-lane shuffle written with `i8x16.shuffle`: lane i of the result is
   * lane `lanes[i]` of a‖b (0..7).
   */
  shuffle: (a: Operand, b: Operand, lanes: readonly number[]): Code =>
    i8x16.shuffle(a, b, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])),
} as const;

/**
 * i64x2 instructions.
 *
 * @example
 * ```ts
 * import { i64x2, v128, i32 } from "./instructions.ts";
 * const x = v128.load(i32.const(0));
 * const products = i64x2.extmul_low_i32x4_u(x, x);
 * ```
 */
export const i64x2 = {
  /** `i64x2.splat`. */
  splat: simd(0x12) as (a: Operand) => Code,
  /** `i64x2.extract_lane`. */
  extract_lane: (a: Operand, lane: number): Code => (f) => {
    push(f, a);
    f.byte(0xfd).unsigned(0x1d).byte(lane);
  },
  /** `i64x2.shl`. */
  shl: simd(0xcb) as (a: Operand, count: Operand) => Code,
  /** `i64x2.shr_u`. */
  shr_u: simd(0xcd) as (a: Operand, count: Operand) => Code,
  /** `i64x2.add`. */
  add: simd(0xce) as (a: Operand, b: Operand) => Code,
  /** `i64x2.mul`. */
  mul: simd(0xd5) as (a: Operand, b: Operand) => Code,
  /** `i64x2.extmul_low_i32x4_u`: lanes 0 and 1 (as u32) multiplied into two u64. */
  extmul_low_i32x4_u: simd(0xde) as (a: Operand, b: Operand) => Code,
  /** `i64x2.extmul_high_i32x4_u`: lanes 2 and 3 likewise. */
  extmul_high_i32x4_u: simd(0xdf) as (a: Operand, b: Operand) => Code,
} as const;
