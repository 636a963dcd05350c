/**
 * ChaCha20 (RFC 8439 §2.3–2.4) as WebAssembly SIMD functions, emitted with the
 * builder in this folder: four blocks at once, one `v128` per state word with
 * block j in lane j ("vertical" layout), so a quarter round is 12 vector
 * instructions for four blocks (the rounds unrolled). Rotations by 16 and 8 are byte shuffles; by 12
 * and 7, two shifts and an or. After the rounds a 4×4 transpose per group of
 * four words turns lanes back into consecutive blocks.
 *
 * The state's last four words are passed as in `../chacha20.ts`: the 32-bit
 * block counter, then words 13–15 (OpenSSH's 64-bit-nonce layout or RFC 8439's
 * 96-bit one). The counter never carries into word 13 (see there).
 *
 * Exports: `chacha_xor(key, counter, n13, n14, n15, p, len)` XORs the keystream
 * into `len` bytes at `p` in place (any length); `key` points at the 32-byte key.
 *
 * @module
 */

import {
  block,
  brIf,
  call,
  type Code,
  i32,
  i32x4,
  i8x16,
  loop,
  type Operand,
  seq,
  set,
  v128,
} from "./instructions.ts";
import type { FunctionBuilder, Local, ModuleBuilder } from "./module_builder.ts";

/**
 * Bytes of keystream one SIMD step makes: four 64-byte blocks.
 *
 * @example
 * ```ts
 * import { CHACHA20_STEP_BYTES } from "./chacha20_module.ts";
 * console.log(CHACHA20_STEP_BYTES / 64); // 4 blocks
 * ```
 */
export const CHACHA20_STEP_BYTES = 256;

/** "expand 32-byte k". */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

/** Byte shuffles that rotate every 32-bit lane left by 16 and by 8 bits. */
const ROTL16 = [2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13];
const ROTL8 = [3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14];

/**
 * The exports {@link addChaCha20Functions} adds, as JavaScript sees them.
 *
 * @example The original layout: counter 1, nonce words 14–15
 * ```ts
 * import type { ChaCha20Exports } from "./chacha20_module.ts";
 * function encrypt(x: ChaCha20Exports, key: number, p: number, len: number): void {
 *   x.chacha_xor(key, 1, 0, 0, 0x07000000, p, len);
 * }
 * ```
 */
export interface ChaCha20Exports {
  /** XORs the keystream from block `counter` into `len` bytes at `p`. */
  chacha_xor(
    key: number,
    counter: number,
    n13: number,
    n14: number,
    n15: number,
    p: number,
    len: number,
  ): void;
}

/**
 * Where {@link addChaCha20Functions} may keep the keystream of a partial step.
 *
 * @example
 * ```ts
 * import type { ChaCha20ModuleOptions } from "./chacha20_module.ts";
 * const options: ChaCha20ModuleOptions = { scratch: 768, words: 1024 };
 * ```
 */
export interface ChaCha20ModuleOptions {
  /** Address of 256 scratch bytes in the module's memory. */
  readonly scratch: number;
  /** Address of 64 bytes for state words 8–11 ({@link ChaCha4Operands.words}). */
  readonly words?: number | undefined;
}

function rotl(x: Operand, n: number): Code {
  if (n === 16) return i8x16.shuffle(x, x, ROTL16);
  if (n === 8) return i8x16.shuffle(x, x, ROTL8);
  return v128.or(i32x4.shl(x, i32.const(n)), i32x4.shr_u(x, i32.const(32 - n)));
}

/** a += b; d ^= a; d <<<= 16; c += d; b ^= c; b <<<= 12; ... (RFC 8439 §2.1). */
function quarterRound(a: Local, b: Local, c: Local, d: Local): Code {
  return seq(
    set(a, i32x4.add(a, b)),
    set(d, rotl(v128.xor(d, a), 16)),
    set(c, i32x4.add(c, d)),
    set(b, rotl(v128.xor(b, c), 12)),
    set(a, i32x4.add(a, b)),
    set(d, rotl(v128.xor(d, a), 8)),
    set(c, i32x4.add(c, d)),
    set(b, rotl(v128.xor(b, c), 7)),
  );
}

/**
 * The quarter round with c kept in linear memory at `at` (loaded into the
 * local `c` for the round, stored back after): see {@link ChaCha4Operands.words}.
 */
function quarterRoundMemC(a: Local, b: Local, c: Local, at: number, d: Local): Code {
  const zero = i32.const(0);
  return seq(
    set(a, i32x4.add(a, b)),
    set(d, rotl(v128.xor(d, a), 16)),
    set(c, i32x4.add(v128.load(zero, at), d)),
    set(b, rotl(v128.xor(b, c), 12)),
    set(a, i32x4.add(a, b)),
    set(d, rotl(v128.xor(d, a), 8)),
    set(c, i32x4.add(c, d)),
    v128.store(zero, c, at),
    set(b, rotl(v128.xor(b, c), 7)),
  );
}

/** One double round: four column rounds, then four diagonal rounds. */
function doubleRoundQuarters(x: readonly Local[], words?: number): Code[] {
  const qr = (a: number, b: number, c: number, d: number) =>
    words === undefined
      ? quarterRound(x[a]!, x[b]!, x[c]!, x[d]!)
      : quarterRoundMemC(x[a]!, x[b]!, x[8]!, words + 16 * (c - 8), x[d]!);
  return [
    qr(0, 4, 8, 12),
    qr(1, 5, 9, 13),
    qr(2, 6, 10, 14),
    qr(3, 7, 11, 15),
    qr(0, 5, 10, 15),
    qr(1, 6, 11, 12),
    qr(2, 7, 8, 13),
    qr(3, 4, 9, 14),
  ];
}

/**
 * Transposes words 4g..4g+3 of the four blocks (lane j = block j) and XORs them
 * into the 16 bytes at p + 64·j + 16·g of each block j.
 */
function xorWordGroup(x: readonly Local[], t: readonly Local[], g: number, p: Local): Code {
  const [a, b, c, d] = [x[4 * g]!, x[4 * g + 1]!, x[4 * g + 2]!, x[4 * g + 3]!];
  const [t0, t1, t2, t3] = [t[0]!, t[1]!, t[2]!, t[3]!];
  const rows: Code[] = [
    i32x4.shuffle(t0, t2, [0, 1, 4, 5]), // block 0: a0 b0 c0 d0
    i32x4.shuffle(t0, t2, [2, 3, 6, 7]), // block 1: a1 b1 c1 d1
    i32x4.shuffle(t1, t3, [0, 1, 4, 5]), // block 2
    i32x4.shuffle(t1, t3, [2, 3, 6, 7]), // block 3
  ];
  return seq(
    set(t0, i32x4.shuffle(a, b, [0, 4, 1, 5])), // a0 b0 a1 b1
    set(t1, i32x4.shuffle(a, b, [2, 6, 3, 7])), // a2 b2 a3 b3
    set(t2, i32x4.shuffle(c, d, [0, 4, 1, 5])), // c0 d0 c1 d1
    set(t3, i32x4.shuffle(c, d, [2, 6, 3, 7])), // c2 d2 c3 d3
    ...rows.map((row, j) => {
      const at = 64 * j + 16 * g;
      return v128.store(p, v128.xor(v128.load(p, at), row), at);
    }),
  );
}

/**
 * The operands of one four-block step: key address, block counter, state words
 * 13–15 and the address of the 256 bytes to XOR.
 *
 * @example
 * ```ts
 * import type { ChaCha4Operands } from "./chacha20_module.ts";
 * import { i32 } from "./instructions.ts";
 * const at: ChaCha4Operands = {
 *   key: i32.const(0), counter: i32.const(1), n13: i32.const(0), n14: i32.const(0),
 *   n15: i32.const(0), p: i32.const(256),
 * };
 * ```
 */
export interface ChaCha4Operands {
  /** Address of the 32-byte key. */
  readonly key: Operand;
  /** Block counter of the first of the four blocks. */
  readonly counter: Operand;
  /** State word 13. */
  readonly n13: Operand;
  /** State word 14. */
  readonly n14: Operand;
  /** State word 15. */
  readonly n15: Operand;
  /** Address of the 256 bytes the keystream is XORed into. */
  readonly p: Operand;
  /**
   * Address of 64 bytes where state words 8–11 live during the rounds, when
   * given: sixteen state vectors and the rotations' temporaries do not fit in
   * x86's sixteen vector registers, and JavaScriptCore's allocator spills far
   * more than one load and one store per quarter round. Absent: all in locals.
   */
  readonly words?: number | undefined;
}

/**
 * The body of one four-block step (allocating its locals in `f`): the ten
 * double rounds unrolled — measured 6–7% faster than a loop on V8 and JSC —
 * with `between(round, quarter)`'s code, when given, emitted after each quarter
 * round. That is how `chacha20_poly1305_module.ts` interleaves scalar Poly1305
 * with the vector rounds, so the CPU's integer multiplier and its vector units
 * work at the same time. `between` must not write memory at `p`..`p + 255`
 * (the step reads its input there only after the rounds).
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { chacha4Code } from "./chacha20_module.ts";
 * new ModuleBuilder().memory({ initial: 1 }).func(
 *   { params: ["i32", "i32", "i32", "i32", "i32", "i32"], results: [] },
 *   (f, [key, counter, n13, n14, n15, p]) =>
 *     chacha4Code(f, { key: key!, counter: counter!, n13: n13!, n14: n14!, n15: n15!, p: p! })(f),
 * );
 * ```
 */
export function chacha4Code(
  f: FunctionBuilder,
  o: ChaCha4Operands,
  between?: (round: number, quarter: number) => Code | null,
): Code {
  const x = Array.from({ length: 16 }, () => f.local("v128"));
  const t = Array.from({ length: 4 }, () => f.local("v128"));
  const ctr = f.local("v128"), kw = f.local("i32"), p = f.local("i32");
  // Word i of the initial state, for block j in lane j.
  const initial = (i: number): Operand =>
    i < 4
      ? i32x4.splat(i32.const(SIGMA[i]!))
      : i < 12
      ? i32x4.splat(i32.load(kw, 4 * (i - 4)))
      : i === 12
      ? ctr
      : i32x4.splat([o.n13, o.n14, o.n15][i - 13]!);
  const rounds: Code[] = [];
  for (let r = 0; r < 10; r++) {
    const qrs = doubleRoundQuarters(x, o.words);
    qrs.forEach((qr, q) => {
      rounds.push(qr);
      const extra = between?.(r, q);
      if (extra) rounds.push(extra);
    });
  }
  return seq(
    set(kw, o.key),
    set(p, o.p),
    set(ctr, i32x4.add(i32x4.splat(o.counter), v128.const_i32x4([0, 1, 2, 3]))),
    ...x.map((xi, i) =>
      o.words !== undefined && i >= 8 && i < 12
        ? v128.store(i32.const(0), initial(i), o.words + 16 * (i - 8))
        : set(xi, initial(i))
    ),
    ...rounds,
    ...x.map((xi, i) =>
      set(
        xi,
        i32x4.add(
          o.words !== undefined && i >= 8 && i < 12
            ? v128.load(i32.const(0), o.words + 16 * (i - 8))
            : xi,
          initial(i),
        ),
      )
    ),
    ...[0, 1, 2, 3].map((g) => xorWordGroup(x, t, g, p)),
  );
}

/**
 * Adds the ChaCha20 functions to a module (SIMD required: validate the result,
 * and fall back when the engine refuses it). Returns the index of `chacha_xor`.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { addChaCha20Functions } from "./chacha20_module.ts";
 * const m = new ModuleBuilder().memory({ initial: 1 }, "memory");
 * addChaCha20Functions(m, { scratch: 0 });
 * console.log(WebAssembly.validate(m.build())); // true where SIMD is supported
 * ```
 */
export function addChaCha20Functions(m: ModuleBuilder, options: ChaCha20ModuleOptions): number {
  const I32 = "i32" as const;
  // chacha4(key, counter, n13, n14, n15, p): XORs four blocks of keystream into p[0..256].
  const chacha4 = m.func(
    { params: [I32, I32, I32, I32, I32, I32], results: [] },
    (f, [key, counter, n13, n14, n15, p]) =>
      chacha4Code(f, {
        key: key!,
        counter: counter!,
        n13: n13!,
        n14: n14!,
        n15: n15!,
        p: p!,
        words: options.words,
      })(f),
  );

  return m.func(
    { name: "chacha_xor", params: [I32, I32, I32, I32, I32, I32, I32], results: [] },
    (f, [key, counter, n13, n14, n15, ptr, len]) => {
      const p = ptr!, ctr = counter!;
      const end = f.local("i32"), stepsEnd = f.local("i32"), s = f.local("i32");
      const scratch = i32.const(options.scratch);
      const words = [key!, ctr, n13!, n14!, n15!] as const;
      seq(
        set(end, i32.add(p, len!)),
        set(stepsEnd, i32.add(p, i32.and(len!, i32.const(~255)))),
        block(
          brIf(0, i32.ge_u(p, stepsEnd)),
          loop(
            call(chacha4, ...words, p),
            set(p, i32.add(p, i32.const(CHACHA20_STEP_BYTES))),
            set(ctr, i32.add(ctr, i32.const(4))),
            brIf(0, i32.lt_u(p, stepsEnd)),
          ),
        ),
        // A partial step: keystream into the zeroed scratch, then XOR what is left,
        // 16 bytes at a time and then byte by byte.
        block(
          brIf(0, i32.ge_u(p, end)),
          ...Array.from(
            { length: 16 },
            (_, i) => v128.store(scratch, v128.const_i32x4([0, 0, 0, 0]), 16 * i),
          ),
          call(chacha4, ...words, scratch),
          set(s, scratch),
          block(
            brIf(0, i32.lt_u(i32.sub(end, p), i32.const(16))),
            loop(
              v128.store(p, v128.xor(v128.load(p), v128.load(s))),
              set(p, i32.add(p, i32.const(16))),
              set(s, i32.add(s, i32.const(16))),
              brIf(0, i32.ge_u(i32.sub(end, p), i32.const(16))),
            ),
          ),
          block(
            brIf(0, i32.ge_u(p, end)),
            loop(
              i32.store8(p, i32.xor(i32.load8_u(p), i32.load8_u(s))),
              set(p, i32.add(p, i32.const(1))),
              set(s, i32.add(s, i32.const(1))),
              brIf(0, i32.lt_u(p, end)),
            ),
          ),
        ),
      )(f);
    },
  );
}
