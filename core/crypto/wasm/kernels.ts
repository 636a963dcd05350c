/**
 * The WebAssembly crypto kernels: built from our own TypeScript (the builder
 * and the `*_module.ts` files here) the first time they are asked for,
 * instantiated once per JavaScript realm, and shared by every Poly1305 and
 * chacha20-poly1305 object — one 384 KiB linear memory, used only inside
 * synchronous calls, so sharing is safe.
 *
 * Feature detection, once: no `WebAssembly` global (or a Content Security Policy
 * that forbids compiling) → `null`, and callers use the JavaScript code; no SIMD →
 * the Poly1305 functions only. A known-answer self-test guards against an engine
 * that compiles the module but computes wrongly.
 *
 * Memory layout ({@link WASM_LAYOUT}): small fixed regions first, then one data
 * region large enough for a maximum SSH packet (4 + 256 KiB, plus its tag).
 *
 * @module
 */

import { addChaCha20Functions, type ChaCha20Exports } from "./chacha20_module.ts";
import { addChaChaPolyFunctions, type ChaChaPolyExports } from "./chacha20_poly1305_module.ts";
import { ModuleBuilder } from "./module_builder.ts";
import { decodeModuleBytes } from "./module_bytes.ts";
import { KERNELS_MODULE_BASE64 } from "./kernels_module_bytes.ts";
import { addPoly1305Functions, type Poly1305Exports } from "./poly1305_module.ts";
import { addUmacNhFunctions, type UmacNhExports } from "./umac_nh_module.ts";
import { fromHex } from "../../wire.ts";

/** Pages of the data region and what precedes it. */
const DATA_PAGES = 5;
/** One more page: UMAC's NH key and results. */
const PAGES = DATA_PAGES + 1;
const PAGE_BYTES = 65536;

/**
 * The regions of the kernels' linear memory ({@link WASM_LAYOUT}).
 *
 * @example
 * ```ts
 * import { WASM_LAYOUT, type WasmLayout } from "./kernels.ts";
 * const layout: WasmLayout = WASM_LAYOUT;
 * console.log(layout.data); // 1024
 * ```
 */
export interface WasmLayout {
  /** Poly1305 state of whichever `WasmPoly1305` owns it right now (96 bytes). */
  readonly polyState: number;
  /** Poly1305 state of the packet functions (96 bytes). */
  readonly packetPolyState: number;
  /** One-time Poly1305 key of the packet functions (32 bytes). */
  readonly polyKey: number;
  /** Computed tag when opening (16 bytes). */
  readonly tagScratch: number;
  /** Tags handed back to JavaScript, and tags to check (16 bytes). */
  readonly tag: number;
  /** K_2 of chacha20-poly1305 (32 bytes). */
  readonly keyMain: number;
  /** K_1 of chacha20-poly1305 (32 bytes). */
  readonly keyHeader: number;
  /** A key being loaded by `WasmPoly1305.init` (32 bytes). */
  readonly keyInput: number;
  /** ChaCha20 keystream of a partial four-block step (256 bytes). */
  readonly chachaScratch: number;
  /** ChaCha20 state words 8–11 during a four-block step (64 bytes). */
  readonly chachaWords: number;
  /** r, 5r, r², 5r² of the packet functions' Poly1305 (160 bytes). */
  readonly polyConstants: number;
  /** Start of the data region. */
  readonly data: number;
  /** Bytes in the data region: 4 + 256 KiB packets fit with room to spare. */
  readonly dataCapacity: number;
  /** UMAC's NH key words of whichever `Umac` loaded them last (1072 bytes for 4 streams). */
  readonly nhKey: number;
  /** NH results, one u64 per chunk and stream (8 KiB: 256 chunks of 4 streams). */
  readonly nhOut: number;
}

/**
 * Addresses in the kernels' linear memory.
 *
 * @example
 * ```ts
 * import { WASM_LAYOUT } from "./kernels.ts";
 * console.log(WASM_LAYOUT.dataCapacity >= 4 + 256 * 1024); // true
 * ```
 */
export const WASM_LAYOUT: WasmLayout = Object.freeze({
  /** Poly1305 state of whichever `WasmPoly1305` owns it right now (96 bytes). */
  polyState: 0,
  /** Poly1305 state of the packet functions (96 bytes). */
  packetPolyState: 128,
  /** One-time Poly1305 key of the packet functions (32 bytes). */
  polyKey: 256,
  /** Computed tag when opening (16 bytes). */
  tagScratch: 288,
  /** Tags handed back to JavaScript, and tags to check (16 bytes). */
  tag: 304,
  /** K_2 of chacha20-poly1305 (32 bytes). */
  keyMain: 320,
  /** K_1 of chacha20-poly1305 (32 bytes). */
  keyHeader: 352,
  /** A key being loaded by `WasmPoly1305.init` (32 bytes). */
  keyInput: 384,
  /** ChaCha20 keystream of a partial four-block step (256 bytes). */
  chachaScratch: 512,
  /** ChaCha20 state words 8–11 during a four-block step (64 bytes). */
  chachaWords: 768,
  /** r, 5r, r², 5r² of the packet functions' Poly1305 (160 bytes). */
  polyConstants: 832,
  /** Start of the data region. */
  data: 1024,
  /** Bytes in the data region: 4 + 256 KiB packets fit with room to spare. */
  dataCapacity: DATA_PAGES * PAGE_BYTES - 1024,
  /** UMAC's NH key words of whichever `Umac` loaded them last (1072 bytes for 4 streams). */
  nhKey: DATA_PAGES * PAGE_BYTES,
  /** NH results, one u64 per chunk and stream (8 KiB: 256 chunks of 4 streams). */
  nhOut: DATA_PAGES * PAGE_BYTES + 2048,
});

/**
 * The instantiated kernels.
 *
 * @example
 * ```ts
 * import { getWasmKernels } from "./kernels.ts";
 * const k = getWasmKernels();
 * console.log(k === null ? "JavaScript only" : k.packet ? "wasm simd" : "wasm poly1305");
 * ```
 */
export interface WasmKernels {
  /** The whole linear memory as bytes (it never grows, so the view stays valid). */
  readonly memory: Uint8Array;
  /** The Poly1305 functions (always present). */
  readonly poly: Poly1305Exports;
  /** ChaCha20 and whole-packet functions; null without SIMD or when not asked for. */
  readonly packet: (ChaCha20Exports & ChaChaPolyExports) | null;
  /** UMAC's NH; null without SIMD or when not asked for ("auto" only). */
  readonly nh: UmacNhExports | null;
}

/**
 * Which kernels to use: everything that works here, Poly1305 only (JavaScript
 * ChaCha20), or none (everything in JavaScript).
 *
 * @example
 * ```ts
 * import type { WasmMode } from "./kernels.ts";
 * const forTests: WasmMode = "none";
 * ```
 */
export type WasmMode = "auto" | "poly1305" | "none";

/**
 * Builds the module's bytes: the Poly1305 functions, plus (with `simd`) ChaCha20
 * and the whole-packet functions.
 *
 * @example
 * ```ts
 * import { buildKernelsModule } from "./kernels.ts";
 * console.log(WebAssembly.validate(buildKernelsModule({ simd: false }))); // true
 * ```
 */
export function buildKernelsModule(options: { readonly simd: boolean }): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder().memory({ initial: PAGES, maximum: PAGES }, "memory");
  const poly = addPoly1305Functions(m);
  if (options.simd) {
    const chachaXor = addChaCha20Functions(m, {
      scratch: WASM_LAYOUT.chachaScratch,
      words: WASM_LAYOUT.chachaWords,
    });
    addChaChaPolyFunctions(m, {
      chachaXor,
      poly,
      polyState: WASM_LAYOUT.packetPolyState,
      polyKey: WASM_LAYOUT.polyKey,
      tagScratch: WASM_LAYOUT.tagScratch,
      chachaWords: WASM_LAYOUT.chachaWords,
      polyConstants: WASM_LAYOUT.polyConstants,
    });
    addUmacNhFunctions(m);
  }
  return m.build();
}

interface Instantiated {
  readonly memory: Uint8Array;
  readonly exports: Poly1305Exports & Partial<ChaCha20Exports & ChaChaPolyExports & UmacNhExports>;
}

let enabled = true;
let instance: Instantiated | null | undefined;

/**
 * Turns the WebAssembly kernels off (or back on) for objects created from now
 * on (and for sntrup761's reciprocal, from its next call) — for applications
 * that must not compile WebAssembly even where it works. The JavaScript code
 * then does all the work, with the same results.
 *
 * @example
 * ```ts
 * import { getWasmKernels, setWasmKernelsEnabled } from "./kernels.ts";
 * setWasmKernelsEnabled(false);
 * console.log(getWasmKernels()); // null
 * setWasmKernelsEnabled(true);
 * ```
 */
export function setWasmKernelsEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Whether WebAssembly kernels may be used ({@link setWasmKernelsEnabled}), for
 * the other modules that compile kernels of their own.
 *
 * @example
 * ```ts
 * import { wasmKernelsEnabled } from "./kernels.ts";
 * console.log(typeof wasmKernelsEnabled()); // "boolean"
 * ```
 */
export function wasmKernelsEnabled(): boolean {
  return enabled;
}

/**
 * The kernels for `mode` ("auto" by default), or null when WebAssembly is
 * missing, forbidden, disabled, or `mode` is "none". Compiles on first use.
 *
 * @example
 * ```ts
 * import { getWasmKernels } from "./kernels.ts";
 * console.log(getWasmKernels("poly1305")?.packet); // null: Poly1305 only
 * ```
 */
export function getWasmKernels(mode: WasmMode = "auto"): WasmKernels | null {
  if (!enabled || mode === "none") return null;
  if (instance === undefined) instance = instantiate();
  if (instance === null) return null;
  // One object per mode for the process: every connection's ciphers hold it.
  const cached = kernelsByMode.get(mode);
  if (cached !== undefined) return cached;
  const x = instance.exports;
  const packet = mode === "auto" && x.chacha_xor && x.chachapoly_seal && x.chachapoly_open
    ? {
      chacha_xor: x.chacha_xor,
      chachapoly_seal: x.chachapoly_seal,
      chachapoly_open: x.chachapoly_open,
    }
    : null;
  const nh = mode === "auto" && x.umac_nh2 && x.umac_nh4
    ? { umac_nh2: x.umac_nh2, umac_nh4: x.umac_nh4 }
    : null;
  const kernels: WasmKernels = Object.freeze({ memory: instance.memory, poly: x, packet, nh });
  kernelsByMode.set(mode, kernels);
  return kernels;
}

const kernelsByMode = new Map<WasmMode, WasmKernels>();

function instantiate(): Instantiated | null {
  const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (wasm === undefined) return null;
  for (const simd of [true, false]) {
    try {
      // The SIMD module comes prebuilt (building it cold cost a process 17-36 ms); the
      // fallback without SIMD, for the rare engine that lacks it, is built here.
      const bytes = simd ? decodeModuleBytes(KERNELS_MODULE_BASE64) : buildKernelsModule({ simd });
      if (!wasm.validate(bytes)) continue; // e.g. no SIMD in this engine
      const inst = new wasm.Instance(new wasm.Module(bytes), {});
      const exports = inst.exports as unknown as Instantiated["exports"] & {
        memory: WebAssembly.Memory;
      };
      const memory = new Uint8Array(exports.memory.buffer);
      const result = { memory, exports };
      if (selfTest(result, simd)) return result;
    } catch {
      // Compiling refused (CSP) or failed: try the smaller module, then give up.
    }
  }
  return null;
}

/** RFC 8439 §2.5.2 (Poly1305) and §2.3.2 (ChaCha20 block) known answers. */
function selfTest(k: Instantiated, simd: boolean): boolean {
  const mem = k.memory, L = WASM_LAYOUT, x = k.exports;
  mem.set(fromHex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"), L.keyInput);
  const msg = new TextEncoder().encode("Cryptographic Forum Research Group");
  mem.set(msg, L.data);
  x.poly_init(L.polyState, L.keyInput);
  x.poly_blocks(L.polyState, L.data, 32, 1);
  x.poly_last(L.polyState, L.data + 32, msg.length - 32);
  x.poly_finish(L.polyState, L.tag);
  if (hexOf(mem.subarray(L.tag, L.tag + 16)) !== "a8061dc1305136c6c22b8baf0c0127a9") return false;
  if (!simd) return true;
  for (let i = 0; i < 32; i++) mem[L.keyInput + i] = i;
  mem.fill(0, L.data, L.data + 64);
  // Nonce 00:00:00:09 00:00:00:4a 00:00:00:00 as words 13–15, block counter 1.
  x.chacha_xor!(L.keyInput, 1, 0x09000000, 0x4a000000, 0, L.data, 64);
  if (hexOf(mem.subarray(L.data, L.data + 16)) !== "10f1e7e4d13b5915500fdd1fa32071c4") {
    return false;
  }
  return nhSelfTest(k);
}

/**
 * NH against the definition, in BigInt: two chunks for two streams, then one chunk for
 * four. Message word i is i·0x9e3779b9, key word i is i·0x85ebca6b + 1 (mod 2^32), so
 * every sum and product wraps.
 */
function nhSelfTest(k: Instantiated): boolean {
  const L = WASM_LAYOUT, x = k.exports;
  const view = new DataView(k.memory.buffer);
  const m = (i: number) => Math.imul(i, 0x9e3779b9) >>> 0;
  const key = (i: number) => (Math.imul(i, 0x85ebca6b) + 1) >>> 0;
  for (let i = 0; i < 512; i++) view.setUint32(L.data + 4 * i, m(i), true);
  for (let i = 0; i < 256 + 12; i++) view.setUint32(L.nhKey + 4 * i, key(i), true);
  const expected = (chunk: number, s: number): bigint => {
    let y = 8192n;
    for (let i = 0; i < 256; i += 8) {
      for (let j = 0; j < 4; j++) {
        const a = (m(256 * chunk + i + j) + key(i + j + 4 * s)) >>> 0;
        const b = (m(256 * chunk + i + j + 4) + key(i + j + 4 + 4 * s)) >>> 0;
        y += BigInt(a) * BigInt(b);
      }
    }
    return BigInt.asUintN(64, y);
  };
  const got = (i: number) => view.getBigUint64(L.nhOut + 8 * i, true);
  x.umac_nh2!(L.data, 2, L.nhKey, L.nhOut);
  for (let c = 0; c < 2; c++) {
    for (let s = 0; s < 2; s++) if (got(2 * c + s) !== expected(c, s)) return false;
  }
  x.umac_nh4!(L.data, 1, L.nhKey, L.nhOut);
  for (let s = 0; s < 4; s++) if (got(s) !== expected(0, s)) return false;
  return true;
}

function hexOf(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
