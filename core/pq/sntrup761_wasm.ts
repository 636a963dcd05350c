/**
 * The WebAssembly SIMD kernels of sntrup761's two reciprocals, in R/q and in
 * R/3 (`../crypto/wasm/sntrup761_module.ts`), compiled on first use and
 * instantiated once per JavaScript realm: null where WebAssembly or its SIMD is
 * missing or forbidden, where a known answer comes out wrong, or while
 * `setWasmKernelsEnabled(false)` holds. The caller then runs the JavaScript
 * versions, with the same results.
 *
 * @module
 */

import { wasmKernelsEnabled } from "../crypto/wasm/kernels.ts";
import {
  MULT_LAYOUT,
  type MultExports,
  R3_RECIP_LAYOUT,
  type R3RecipExports,
  RQ_RECIP3_LAYOUT,
  type RqRecip3Exports,
} from "../crypto/wasm/sntrup761_layout.ts";
import { decodeModuleBytes } from "../crypto/wasm/module_bytes.ts";
import { SNTRUP761_MODULE_BASE64 } from "../crypto/wasm/sntrup761_module_bytes.ts";

const P = 761;

/**
 * The instantiated kernels, their memory and the int32 slots of each array.
 *
 * @example
 * ```ts
 * import { sntrup761Kernels } from "./sntrup761_wasm.ts";
 * const k = sntrup761Kernels();
 * console.log(k === null ? "JavaScript" : `${k.memory.length} slots`);
 * ```
 */
export interface Sntrup761Kernels {
  /** The kernels' memory (one page) as int32 slots: `r3_recip`'s planes. */
  readonly memory: Int32Array;
  /** The same memory as int16 slots: `rq_recip3`'s arrays. */
  readonly halves: Int16Array;
  /** Int16 slots of coefficient 0 of `rq_recip3`'s arrays (see `RQ_RECIP3_LAYOUT`). */
  readonly rq: { readonly v: number; readonly r: number; readonly f: number; readonly g: number };
  /** Slots of word 0 of `r3_recip`'s planes (see `R3_RECIP_LAYOUT`). */
  readonly r3: Readonly<Record<"fm" | "fs" | "gm" | "gs" | "vm" | "vs" | "rm" | "rs", number>>;
  /** Slots of `mult`'s arrays: f[0] and out[0] (int16), pairs[0] (int32; see `MULT_LAYOUT`). */
  readonly mult: { readonly f: number; readonly pairs: number; readonly out: number };
  /** Zeroes the memory the kernels use: before and after each run, since it holds secrets. */
  readonly clear: () => void;
  /** The divsteps in R/q; returns the final delta. */
  readonly rqRecip3: () => number;
  /** The divsteps in R/3; returns the final delta. */
  readonly r3Recip: () => number;
  /** The product in R/q (`mod3` 0) or R/3 (1). */
  readonly multiply: (mod3: number) => void;
}

let kernels: Sntrup761Kernels | null | undefined;

/**
 * The kernels, or null when they cannot or may not be used here (see the
 * module documentation). Compiles and checks them on the first call.
 *
 * @example
 * ```ts
 * import { sntrup761Kernels } from "./sntrup761_wasm.ts";
 * console.log(sntrup761Kernels() === sntrup761Kernels()); // true: one per realm
 * ```
 */
export function sntrup761Kernels(): Sntrup761Kernels | null {
  if (!wasmKernelsEnabled()) return null;
  if (kernels === undefined) kernels = instantiate();
  return kernels;
}

function instantiate(): Sntrup761Kernels | null {
  const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (wasm === undefined) return null;
  try {
    const bytes = decodeModuleBytes(SNTRUP761_MODULE_BASE64);
    if (!wasm.validate(bytes)) return null; // no SIMD in this engine
    const exports = new wasm.Instance(new wasm.Module(bytes), {}).exports as unknown as
      & RqRecip3Exports
      & R3RecipExports
      & MultExports
      & { memory: WebAssembly.Memory };
    const slot = (address: number) => address >> 2, half = (address: number) => address >> 1;
    const Q = RQ_RECIP3_LAYOUT, T = R3_RECIP_LAYOUT, M = MULT_LAYOUT;
    const memory = new Int32Array(exports.memory.buffer);
    const k: Sntrup761Kernels = Object.freeze({
      memory,
      halves: new Int16Array(exports.memory.buffer),
      rq: Object.freeze({ v: half(Q.v), r: half(Q.r), f: half(Q.f), g: half(Q.g) }),
      r3: Object.freeze({
        fm: slot(T.fm),
        fs: slot(T.fs),
        gm: slot(T.gm),
        gs: slot(T.gs),
        vm: slot(T.vm),
        vs: slot(T.vs),
        rm: slot(T.rm),
        rs: slot(T.rs),
      }),
      mult: Object.freeze({
        f: half(M.f),
        pairs: slot(M.pairs) + M.pairsBefore,
        out: half(M.out),
      }),
      clear: () => void memory.fill(0, 0, slot(M.end)),
      rqRecip3: exports.rq_recip3,
      r3Recip: exports.r3_recip,
      multiply: exports.mult,
    });
    return rqSelfTest(k) && r3SelfTest(k) && multSelfTest(k) ? k : null;
  } catch {
    return null; // compiling refused (a Content Security Policy) or failed
  }
}

/** x mod q in [−2295, 2295] (the kernel keeps values small, not reduced). */
function fqFreeze(x: number): number {
  return x - 4591 * Math.floor(x / 4591 + 0.5);
}

/**
 * The known answers' input: 761 coefficients in {−1, 0, 1} from a fixed 32-bit linear
 * congruential sequence. Dense on purpose: its reciprocals have no zero coefficient, so a
 * kernel that gets any coefficient of any step wrong fails the checksum.
 *
 * @example
 * ```ts
 * import { selfTestInput } from "./sntrup761_wasm.ts";
 * console.log(selfTestInput().length); // 761
 * ```
 */
export function selfTestInput(): Int8Array {
  const out = new Int8Array(P);
  let x = 0x5eed;
  for (let i = 0; i < P; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = ((x >>> 16) % 3) - 1;
  }
  return out;
}

/**
 * What the reference algorithm (`Rq_recip3` and `R3_recip` of the NTRU Prime reference,
 * in a plain transcription the tests run) gives for {@link selfTestInput}: the final delta,
 * f[0] and a checksum (s = 31·s + v[i], wrapping at 32 bits) of v reduced mod q or 3.
 *
 * @example
 * ```ts
 * import { SELF_TEST_ANSWERS } from "./sntrup761_wasm.ts";
 * console.log(SELF_TEST_ANSWERS.rq.delta); // 0: invertible
 * ```
 */
export const SELF_TEST_ANSWERS = Object.freeze({
  rq: Object.freeze({ delta: 0, f0: 163, sum: -1007673050 }),
  r3: Object.freeze({ delta: 0, f0: -1, sum: 950171164 }),
  /** Checksums of the products `multSelfTestFactors` names, mod q and mod 3. */
  multQ: -1783503029,
  mult3: 1088346393,
});

/**
 * The known answers' factors for `mult`: f in Fq ((1237·i mod q) − 2295) times
 * {@link selfTestInput} mod q, and the input times its own reverse mod 3.
 *
 * @example
 * ```ts
 * import { multSelfTestFactors } from "./sntrup761_wasm.ts";
 * console.log(multSelfTestFactors().fq[1]); // -1058
 * ```
 */
export function multSelfTestFactors(): {
  fq: Int16Array;
  small: Int8Array;
  smallReversed: Int8Array;
} {
  const fq = new Int16Array(P);
  for (let i = 0; i < P; i++) fq[i] = ((i * 1237) % 4591) - 2295;
  const small = selfTestInput();
  return { fq, small, smallReversed: small.slice().reverse() };
}

/**
 * h = f·g in R/q (`mod3` 0, f in Fq) or R/3 (`mod3` 1, f small), g small, through the
 * kernels' `mult`.
 *
 * @example
 * ```ts
 * import { multiply, sntrup761Kernels } from "./sntrup761_wasm.ts";
 * const k = sntrup761Kernels();
 * const one = new Int8Array(761);
 * one[0] = 1;
 * const h = new Int16Array(761);
 * if (k !== null) multiply(k, h, new Int16Array(761).fill(5), one, 0); // h = 5 everywhere
 * ```
 */
export function multiply(
  k: Sntrup761Kernels,
  h: Int16Array | Int8Array,
  f: ArrayLike<number>,
  g: ArrayLike<number>,
  mod3: 0 | 1,
): void {
  const halves = k.halves, words = k.memory, { f: fAt, pairs, out } = k.mult;
  k.clear();
  for (let i = 0; i < P; i++) halves[fAt + i] = f[i]!;
  // pairs[m] = g[m] in the low half, g[m − 1] in the high half (m = 0 … p).
  let previous = 0;
  for (let m = 0; m < P; m++) {
    const x = g[m]!;
    words[pairs + m] = (x & 0xffff) | (previous << 16);
    previous = x;
  }
  words[pairs + P] = previous << 16;
  k.multiply(mod3);
  for (let i = 0; i < P; i++) h[i] = halves[out + i]!;
  k.clear();
}

/** Known answers for `mult`, mod q and mod 3. */
function multSelfTest(k: Sntrup761Kernels): boolean {
  const { fq, small, smallReversed } = multSelfTestFactors();
  const h = new Int16Array(P);
  multiply(k, h, fq, small, 0);
  const q = checksum((i) => h[i]!);
  multiply(k, h, small, smallReversed, 1);
  return q === SELF_TEST_ANSWERS.multQ && checksum((i) => h[i]!) === SELF_TEST_ANSWERS.mult3;
}

/**
 * The checksum of {@link SELF_TEST_ANSWERS} over 761 coefficients.
 *
 * @example
 * ```ts
 * import { checksum } from "./sntrup761_wasm.ts";
 * console.log(checksum(() => 0)); // 0
 * ```
 */
export function checksum(coefficient: (i: number) => number): number {
  let sum = 0;
  for (let i = 0; i < P; i++) sum = (Math.imul(sum, 31) + coefficient(i)) | 0;
  return sum;
}

/** A known answer for `rq_recip3`. */
function rqSelfTest(k: Sntrup761Kernels): boolean {
  const m = k.halves, { v, r, f, g } = k.rq, input = selfTestInput();
  k.clear();
  m[r] = -1530; // 1/3 mod q
  m[f] = 1;
  m[f + P - 1] = -1;
  m[f + P] = -1;
  for (let i = 0; i < P; i++) m[g + P - 1 - i] = input[i]!;
  const delta = k.rqRecip3(), want = SELF_TEST_ANSWERS.rq;
  const ok = delta === want.delta && fqFreeze(m[f]!) === want.f0 &&
    checksum((i) => fqFreeze(m[v + i]!)) === want.sum;
  k.clear();
  return ok;
}

/** A known answer for `r3_recip`. */
function r3SelfTest(k: Sntrup761Kernels): boolean {
  const input = selfTestInput();
  k.clear();
  writeR3Start(k, (i) => input[i]!);
  const delta = k.r3Recip(), want = SELF_TEST_ANSWERS.r3;
  const ok = delta === want.delta && r3Coefficient(k, "f", 0) === want.f0 &&
    checksum((i) => r3Coefficient(k, "v", i)) === want.sum;
  k.clear();
  return ok;
}

/**
 * Fills `r3_recip`'s planes (already zero): f = reversed(x^p − x − 1), g =
 * reversed(input), v = 0, r = 1. `input(i)` is in {−1, 0, 1}.
 *
 * @example
 * ```ts
 * import { sntrup761Kernels, writeR3Start } from "./sntrup761_wasm.ts";
 * const k = sntrup761Kernels();
 * if (k !== null) writeR3Start(k, () => 1);
 * ```
 */
export function writeR3Start(k: Sntrup761Kernels, input: (i: number) => number): void {
  const m = k.memory, { fm, fs, gm, gs, rm } = k.r3;
  const setBit = (plane: number, bit: number) => {
    m[plane + (bit >> 5)] = m[plane + (bit >> 5)]! | (1 << (bit & 31));
  };
  m[rm] = 1;
  setBit(fm, 0);
  for (const bit of [P - 1, P]) setBit(fm, bit), setBit(fs, bit);
  for (let i = 0; i < P; i++) {
    const x = input(i), bit = P - 1 - i;
    m[gm + (bit >> 5)] = m[gm + (bit >> 5)]! | ((x & 1) << (bit & 31));
    m[gs + (bit >> 5)] = m[gs + (bit >> 5)]! | (((x >> 1) & 1) << (bit & 31));
  }
}

/**
 * Coefficient i (in {−1, 0, 1}) of f or v in `r3_recip`'s planes.
 *
 * @example
 * ```ts
 * import { r3Coefficient, sntrup761Kernels } from "./sntrup761_wasm.ts";
 * const k = sntrup761Kernels();
 * if (k !== null) console.log(r3Coefficient(k, "f", 0));
 * ```
 */
export function r3Coefficient(k: Sntrup761Kernels, plane: "f" | "v", i: number): number {
  const m = k.memory;
  const mPlane = plane === "f" ? k.r3.fm : k.r3.vm, sPlane = plane === "f" ? k.r3.fs : k.r3.vs;
  const nonzero = (m[mPlane + (i >> 5)]! >>> (i & 31)) & 1;
  const negative = (m[sPlane + (i >> 5)]! >>> (i & 31)) & 1;
  return nonzero - 2 * (nonzero & negative);
}
