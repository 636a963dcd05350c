/**
 * UMAC's NH (RFC 4418 §5.2.2) as WebAssembly SIMD functions, for the 1024-byte L1 chunks
 * of `../umac.ts`: NH is 32-bit additions and 32×32 → 64-bit products summed mod 2^64,
 * which `i64x2.extmul_*_i32x4_u` does two lanes at a time and JavaScript numbers can only
 * do in 16-bit halves (the JavaScript NH took a third of a UMAC download's CPU).
 *
 * Exports: `umac_nh2(msg, chunks, key, out)` and `umac_nh4(...)` hash `chunks` whole
 * chunks at `msg` for 2 (UMAC-64) or 4 (UMAC-128) streams; the key words are at `key`,
 * stream s starting at word 4s (each word a native little-endian u32, as `Umac` holds
 * them). Chunk c's result for stream s, NH plus the chunk's bit length (8192) mod 2^64, is
 * the little-endian u64 at `out + 8 * (c * streams + s)`. Message words are read
 * little-endian, as RFC 4418 reads them.
 *
 * One step takes eight message words as two vectors (words 0–3 and 4–7) and, per stream,
 * adds the key vectors at the stream's offset; the key vector at offset 4(t + 1) serves
 * stream t's second half and stream t + 1's first, so a step loads streams + 1 key vectors.
 *
 * @module
 */

import { block, brIf, i32, i32x4, i64, i64x2, loop, seq, set, v128 } from "./instructions.ts";
import type { Local, ModuleBuilder } from "./module_builder.ts";

/**
 * Bytes of one L1 chunk.
 *
 * @example
 * ```ts
 * import { NH_CHUNK_BYTES } from "./umac_nh_module.ts";
 * console.log(NH_CHUNK_BYTES); // 1024
 * ```
 */
export const NH_CHUNK_BYTES = 1024;

/**
 * The exports {@link addUmacNhFunctions} adds, as JavaScript sees them.
 *
 * @example
 * ```ts
 * import type { UmacNhExports } from "./umac_nh_module.ts";
 * function hashTwoChunks(x: UmacNhExports, msg: number, key: number, out: number): void {
 *   x.umac_nh2(msg, 2, key, out); // four u64 results at out
 * }
 * ```
 */
export interface UmacNhExports {
  /** NH of `chunks` chunks at `msg` for two streams (UMAC-64). */
  umac_nh2(msg: number, chunks: number, key: number, out: number): void;
  /** NH of `chunks` chunks at `msg` for four streams (UMAC-128). */
  umac_nh4(msg: number, chunks: number, key: number, out: number): void;
}

/**
 * Adds `umac_nh2` and `umac_nh4` to a module (SIMD required: validate the result, and
 * fall back when the engine refuses it).
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { addUmacNhFunctions } from "./umac_nh_module.ts";
 * const m = new ModuleBuilder().memory({ initial: 1 }, "memory");
 * addUmacNhFunctions(m);
 * console.log(WebAssembly.validate(m.build())); // true where SIMD is supported
 * ```
 */
export function addUmacNhFunctions(m: ModuleBuilder): void {
  for (const streams of [2, 4]) addNh(m, streams);
}

function addNh(m: ModuleBuilder, streams: number): void {
  const I32 = "i32" as const;
  m.func(
    { name: `umac_nh${streams}`, params: [I32, I32, I32, I32], results: [] },
    (f, [msg, chunks, key, out]) => {
      const p = msg!, n = chunks!, o = out!;
      const end = f.local("i32"), k = f.local("i32");
      const lo = f.local("v128"), hi = f.local("v128"), a = f.local("v128"), b = f.local("v128");
      const acc: Local[] = Array.from({ length: streams }, () => f.local("v128"));
      const kv: Local[] = Array.from({ length: streams + 1 }, () => f.local("v128"));
      const zero = v128.const_i32x4([0, 0, 0, 0]);
      // acc[s] += (lo + kv[s]) ⊗ (hi + kv[s + 1]), the four 64-bit products in two lanes.
      const streamStep = (s: number) =>
        seq(
          set(a, i32x4.add(lo, kv[s]!)),
          set(b, i32x4.add(hi, kv[s + 1]!)),
          set(
            acc[s]!,
            i64x2.add(
              acc[s]!,
              i64x2.add(i64x2.extmul_low_i32x4_u(a, b), i64x2.extmul_high_i32x4_u(a, b)),
            ),
          ),
        );
      seq(
        block(
          brIf(0, i32.eqz(n)), // no chunks: nothing to do
          loop(
            ...acc.map((x) => set(x, zero)),
            set(k, key!),
            set(end, i32.add(p, i32.const(NH_CHUNK_BYTES))),
            loop(
              set(lo, v128.load(p)),
              set(hi, v128.load(p, 16)),
              ...kv.map((x, t) => set(x, v128.load(k, 16 * t))),
              ...acc.map((_, s) => streamStep(s)),
              set(p, i32.add(p, i32.const(32))),
              set(k, i32.add(k, i32.const(32))),
              brIf(0, i32.lt_u(p, end)),
            ),
            ...acc.map((x, s) =>
              i64.store(
                o,
                i64.add(
                  i64x2.extract_lane(x, 0),
                  i64x2.extract_lane(x, 1),
                  i64.const(NH_CHUNK_BYTES * 8),
                ),
                8 * s,
              )
            ),
            set(o, i32.add(o, i32.const(8 * streams))),
            set(n, i32.sub(n, i32.const(1))),
            brIf(0, n),
          ),
        ),
      )(f);
    },
  );
}
