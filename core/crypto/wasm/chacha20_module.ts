/**
 * ChaCha20 (RFC 8439 §2.3–2.4) as WebAssembly SIMD functions, emitted with the
 * builder in this folder: four blocks at once, one `v128` per state word with
 * block j in lane j ("vertical" layout), so a quarter round is 12 vector
 * instructions for four blocks. Rotations by 16 and 8 are byte shuffles; by 12
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
import type { Local, ModuleBuilder } from "./module_builder.ts";

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
 * const options: ChaCha20ModuleOptions = { scratch: 768 };
 * ```
 */
export interface ChaCha20ModuleOptions {
  /** Address of 256 scratch bytes in the module's memory. */
  readonly scratch: number;
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

/** One double round: four column rounds, then four diagonal rounds. */
function doubleRound(x: readonly Local[]): Code {
  const qr = (a: number, b: number, c: number, d: number) =>
    quarterRound(x[a]!, x[b]!, x[c]!, x[d]!);
  return seq(
    qr(0, 4, 8, 12),
    qr(1, 5, 9, 13),
    qr(2, 6, 10, 14),
    qr(3, 7, 11, 15),
    qr(0, 5, 10, 15),
    qr(1, 6, 11, 12),
    qr(2, 7, 8, 13),
    qr(3, 4, 9, 14),
  );
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
    (f, [key, counter, n13, n14, n15, p]) => {
      const x = Array.from({ length: 16 }, () => f.local("v128"));
      const t = Array.from({ length: 4 }, () => f.local("v128"));
      const ctr = f.local("v128");
      const round = f.local("i32");
      // Word i of the initial state, for block j in lane j.
      const initial = (i: number): Operand =>
        i < 4
          ? i32x4.splat(i32.const(SIGMA[i]!))
          : i < 12
          ? i32x4.splat(i32.load(key!, 4 * (i - 4)))
          : i === 12
          ? ctr
          : i32x4.splat([n13!, n14!, n15!][i - 13]!);
      seq(
        set(ctr, i32x4.add(i32x4.splat(counter!), v128.const_i32x4([0, 1, 2, 3]))),
        ...x.map((xi, i) => set(xi, initial(i))),
        // Ten double rounds in a loop: unrolled measured 5–25% slower on V8 and
        // JSC (more code, no fewer instructions per round).
        set(round, i32.const(10)),
        loop(doubleRound(x), set(round, i32.sub(round, i32.const(1))), brIf(0, round)),
        ...x.map((xi, i) => set(xi, i32x4.add(xi, initial(i)))),
        ...[0, 1, 2, 3].map((g) => xorWordGroup(x, t, g, p!)),
      )(f);
    },
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
