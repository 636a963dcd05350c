/**
 * The WebAssembly SIMD kernel of sntrup761's reciprocal in R/q
 * (`../crypto/wasm/sntrup761_module.ts`), compiled on first use and
 * instantiated once per JavaScript realm: null where WebAssembly or its SIMD is
 * missing or forbidden, where a known answer comes out wrong, or while
 * `setWasmKernelsEnabled(false)` holds. The caller then runs the JavaScript
 * version, with the same results.
 *
 * @module
 */

import { wasmKernelsEnabled } from "../crypto/wasm/kernels.ts";
import { ModuleBuilder } from "../crypto/wasm/module_builder.ts";
import {
  addRqRecip3Function,
  RQ_RECIP3_LAYOUT,
  type RqRecip3Exports,
} from "../crypto/wasm/sntrup761_module.ts";

const P = 761;

/**
 * The instantiated kernel: its memory as int32 slots and the divsteps.
 *
 * @example
 * ```ts
 * import { rqRecip3Kernel } from "./sntrup761_wasm.ts";
 * const k = rqRecip3Kernel();
 * console.log(k === null ? "JavaScript" : `${k.memory.length} slots`);
 * ```
 */
export interface RqRecip3Kernel {
  /** The kernel's memory (one page) as int32 coefficients; see `RQ_RECIP3_LAYOUT`. */
  readonly memory: Int32Array;
  /** Slot of v[0], r[0], f[0] and g[0] in {@link RqRecip3Kernel.memory}. */
  readonly v: number;
  /** Slot of r[0]. */
  readonly r: number;
  /** Slot of f[0]. */
  readonly f: number;
  /** Slot of g[0]. */
  readonly g: number;
  /** Slots in use from 0 (cleared before and after each run). */
  readonly used: number;
  /** Runs the 2p − 1 divsteps; returns the final delta. */
  readonly run: () => number;
}

let kernel: RqRecip3Kernel | null | undefined;

/**
 * The kernel, or null when it cannot or may not be used here (see the module
 * documentation). Compiles and checks it on the first call.
 *
 * @example
 * ```ts
 * import { rqRecip3Kernel } from "./sntrup761_wasm.ts";
 * console.log(rqRecip3Kernel() === rqRecip3Kernel()); // true: one per realm
 * ```
 */
export function rqRecip3Kernel(): RqRecip3Kernel | null {
  if (!wasmKernelsEnabled()) return null;
  if (kernel === undefined) kernel = instantiate();
  return kernel;
}

function instantiate(): RqRecip3Kernel | null {
  const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (wasm === undefined) return null;
  try {
    const m = new ModuleBuilder().memory({ initial: 1, maximum: 1 }, "memory");
    addRqRecip3Function(m);
    const bytes = m.build();
    if (!wasm.validate(bytes)) return null; // no SIMD in this engine
    const exports = new wasm.Instance(new wasm.Module(bytes), {}).exports as unknown as
      & RqRecip3Exports
      & { memory: WebAssembly.Memory };
    const L = RQ_RECIP3_LAYOUT;
    const k: RqRecip3Kernel = Object.freeze({
      memory: new Int32Array(exports.memory.buffer),
      v: L.v >> 2,
      r: L.r >> 2,
      f: L.f >> 2,
      g: L.g >> 2,
      used: (L.g >> 2) + L.slots,
      run: exports.rq_recip3,
    });
    return selfTest(k) ? k : null;
  } catch {
    return null; // compiling refused (a Content Security Policy) or failed
  }
}

/**
 * A known answer: the divsteps over g = the reversed (i mod 3) − 1 pattern, from
 * the JavaScript version. Checks delta and a checksum of v; a wrong kernel fails
 * it with overwhelming probability.
 */
function selfTest(k: RqRecip3Kernel): boolean {
  const m = k.memory;
  m.fill(0, 0, k.used);
  m[k.r] = -1530; // 1/3 mod q
  m[k.f] = 1;
  m[k.f + P - 1] = -1;
  m[k.f + P] = -1;
  for (let i = 0; i < P; i++) m[k.g + P - 1 - i] = (i % 3) - 1;
  const delta = k.run();
  let sum = 0;
  for (let i = 0; i < P; i++) sum = (Math.imul(sum, 31) + m[k.v + i]!) | 0;
  const f0 = m[k.f]!;
  m.fill(0, 0, k.used);
  return delta === SELF_TEST.delta && f0 === SELF_TEST.f0 && sum === SELF_TEST.sum;
}

const SELF_TEST = { delta: 0, f0: -1583, sum: 1520359923 };
