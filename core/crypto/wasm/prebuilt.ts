/**
 * The WebAssembly modules shipped prebuilt, and their builders: the bytes a
 * process instantiates come from `*_module_bytes.ts` (written by
 * `scripts/embed_wasm.ts`), and the tests check they are what the builders in
 * this folder make from our TypeScript today.
 *
 * @module
 */

import { buildKernelsModule } from "./kernels.ts";
import { buildSntrup761Module } from "./sntrup761_module.ts";

/**
 * One prebuilt module: its builder, and where its bytes are kept.
 *
 * @example
 * ```ts
 * import type { PrebuiltModule } from "./prebuilt.ts";
 * const describe = (m: PrebuiltModule) => `${m.file}: ${m.builder}`;
 * ```
 */
export interface PrebuiltModule {
  /** What the module holds, for the generated file's documentation. */
  readonly description: string;
  /** The builder call, as the generated file names it. */
  readonly builder: string;
  /** Builds the module's bytes. */
  readonly build: () => Uint8Array;
  /** The generated file in this folder. */
  readonly file: string;
  /** The name of the base64 constant it exports. */
  readonly constant: string;
}

/**
 * Every prebuilt module.
 *
 * @example
 * ```ts
 * import { PREBUILT_MODULES } from "./prebuilt.ts";
 * console.log(PREBUILT_MODULES.map((m) => m.file));
 * ```
 */
export const PREBUILT_MODULES: readonly PrebuiltModule[] = Object.freeze([
  {
    description: "The chacha20-poly1305, Poly1305 and UMAC NH kernels (SIMD)",
    builder: "buildKernelsModule({ simd: true })",
    build: () => buildKernelsModule({ simd: true }),
    file: "kernels_module_bytes.ts",
    constant: "KERNELS_MODULE_BASE64",
  },
  {
    description: "sntrup761's WebAssembly kernels",
    builder: "buildSntrup761Module()",
    build: buildSntrup761Module,
    file: "sntrup761_module_bytes.ts",
    constant: "SNTRUP761_MODULE_BASE64",
  },
]);
