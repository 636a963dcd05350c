/**
 * Poly1305 on the WebAssembly kernels, with the API of the JavaScript
 * {@link Poly1305} (`init`/`update`/`finish` into caller buffers), and
 * {@link createPoly1305}, which returns this one where WebAssembly works and the
 * JavaScript one elsewhere — callers never need to know which.
 *
 * Data is copied into the kernels' data region (20–30 GB/s here, a small cost
 * beside the MAC's 1–1.8 GB/s) and absorbed there; an unfinished block waits in a 16-byte
 * buffer here and is written just before the next update's data, so every
 * update is one copy and one call.
 *
 * The kernels' memory has one Poly1305 state region, shared by every instance:
 * the instance that used it last owns it, and another instance first saves the
 * owner's state (96 bytes) into the owner, then loads its own. A sealer and an
 * opener alternating per packet thus cost a 96-byte copy each way, nothing more.
 *
 * @module
 */

import { Poly1305 } from "../poly1305.ts";
import { getWasmKernels, WASM_LAYOUT, type WasmKernels, type WasmMode } from "./kernels.ts";
import { POLY1305_STATE_BYTES } from "./poly1305_module.ts";

/**
 * What the packet code needs of a Poly1305: the JavaScript {@link Poly1305} and
 * {@link WasmPoly1305} both are one.
 *
 * @example
 * ```ts
 * import type { Poly1305Mac } from "./poly1305_wasm.ts";
 * function tagOf(mac: Poly1305Mac, key: Uint8Array, msg: Uint8Array): Uint8Array {
 *   const tag = new Uint8Array(16);
 *   mac.init(key);
 *   mac.update(msg);
 *   mac.finish(tag);
 *   return tag;
 * }
 * ```
 */
export interface Poly1305Mac {
  /** Starts a new MAC with the 32-byte one-time key `key[offset..offset+32]`. */
  init(key: Uint8Array, offset?: number): void;
  /** Absorbs `data[start..end]`. */
  update(data: Uint8Array, start?: number, end?: number): void;
  /** Writes the 16-byte tag to `out[offset..offset+16]`. */
  finish(out: Uint8Array, offset?: number): void;
}

const L = WASM_LAYOUT;
/** Bytes absorbed per call: the data region, rounded down to whole blocks. */
const CHUNK = L.dataCapacity & ~15;
const STATE_WORDS = POLY1305_STATE_BYTES >>> 2;

let owner: WasmPoly1305 | null = null;

/**
 * Poly1305 computed by the WebAssembly kernels. Create it with
 * {@link WasmPoly1305.create} (null where WebAssembly is unavailable) or let
 * {@link createPoly1305} choose.
 *
 * @example
 * ```ts
 * import { WasmPoly1305 } from "./poly1305_wasm.ts";
 * const mac = WasmPoly1305.create();
 * if (mac !== null) {
 *   const tag = new Uint8Array(16);
 *   mac.init(new Uint8Array(32).fill(7));
 *   mac.update(new TextEncoder().encode("Cryptographic Forum Research Group"));
 *   mac.finish(tag);
 * }
 * ```
 */
export class WasmPoly1305 implements Poly1305Mac {
  readonly #k: WasmKernels;
  readonly #words: Uint32Array; // the kernels' memory as words
  readonly #saved = new Uint32Array(STATE_WORDS); // our state while another instance owns the region
  readonly #partial = new Uint8Array(16);
  #partialLen = 0;

  /** A Poly1305 on the kernels, or null when WebAssembly cannot be used here. */
  static create(): WasmPoly1305 | null {
    const k = getWasmKernels("poly1305");
    return k === null ? null : new WasmPoly1305(k);
  }

  /** Use {@link WasmPoly1305.create}; this takes kernels already obtained. */
  constructor(kernels: WasmKernels) {
    this.#k = kernels;
    this.#words = new Uint32Array(kernels.memory.buffer, 0, L.data >>> 2);
  }

  /** Starts a new MAC with the 32-byte one-time key `key[offset..offset+32]`. */
  init(key: Uint8Array, offset = 0): void {
    if (offset < 0 || key.length - offset < 32) {
      throw new RangeError(`Poly1305 needs a 32-byte key, got ${key.length - offset} bytes`);
    }
    this.#claim();
    const mem = this.#k.memory;
    for (let i = 0; i < 32; i++) mem[L.keyInput + i] = key[offset + i]!;
    this.#k.poly.poly_init(L.polyState, L.keyInput);
    mem.fill(0, L.keyInput, L.keyInput + 32);
    this.#partialLen = 0;
  }

  /** Absorbs `data[start..end]`. */
  update(data: Uint8Array, start = 0, end: number = data.length): void {
    if (start < 0 || end > data.length || start > end) {
      throw new RangeError(`Poly1305 range ${start}..${end} is outside 0..${data.length}`);
    }
    this.#claim();
    const mem = this.#k.memory, poly = this.#k.poly, partial = this.#partial;
    let pending = this.#partialLen;
    let pos = start;
    while (pos < end) {
      // The waiting partial block first, then as much new data as fits.
      for (let i = 0; i < pending; i++) mem[L.data + i] = partial[i]!;
      const take = Math.min(end - pos, CHUNK - pending);
      mem.set(
        start === 0 && take === data.length ? data : data.subarray(pos, pos + take),
        L.data + pending,
      );
      const total = pending + take, full = total & ~15;
      if (full > 0) poly.poly_blocks(L.polyState, L.data, full, 1);
      pending = total - full;
      for (let i = 0; i < pending; i++) partial[i] = mem[L.data + full + i]!;
      pos += take;
    }
    this.#partialLen = pending;
  }

  /** Writes the 16-byte tag to `out[offset..offset+16]`; call `init` before reusing. */
  finish(out: Uint8Array, offset = 0): void {
    if (offset < 0 || out.length - offset < 16) {
      throw new RangeError(`Poly1305 tag needs 16 bytes, got ${out.length - offset}`);
    }
    this.#claim();
    const mem = this.#k.memory, poly = this.#k.poly;
    for (let i = 0; i < this.#partialLen; i++) mem[L.data + i] = this.#partial[i]!;
    poly.poly_last(L.polyState, L.data, this.#partialLen);
    poly.poly_finish(L.polyState, L.tag);
    for (let i = 0; i < 16; i++) out[offset + i] = mem[L.tag + i]!;
    this.#partialLen = 0;
  }

  /** Makes the shared state region ours: saves the previous owner's state, loads ours. */
  #claim(): void {
    if (owner === this) return;
    const w = this.#words, base = L.polyState >>> 2;
    if (owner !== null) {
      const o = owner.#saved;
      for (let i = 0; i < STATE_WORDS; i++) o[i] = w[base + i]!;
    }
    for (let i = 0; i < STATE_WORDS; i++) w[base + i] = this.#saved[i]!;
    owner = this;
  }
}

/**
 * Options of {@link createPoly1305}.
 *
 * @example
 * ```ts
 * import { createPoly1305, type CreatePoly1305Options } from "./poly1305_wasm.ts";
 * const jsOnly: CreatePoly1305Options = { wasm: "none" };
 * const mac = createPoly1305(jsOnly);
 * ```
 */
export interface CreatePoly1305Options {
  /** "none" forces the JavaScript Poly1305 (tests of the fallback); default "auto". */
  readonly wasm?: WasmMode;
}

/**
 * The fastest Poly1305 available here: {@link WasmPoly1305} where WebAssembly
 * works (1.7–2.6× the JavaScript one at 32 KiB: Bun, Node, Deno), else the
 * JavaScript {@link Poly1305}.
 *
 * @example
 * ```ts
 * import { createPoly1305 } from "./poly1305_wasm.ts";
 * const mac = createPoly1305();
 * const tag = new Uint8Array(16);
 * mac.init(new Uint8Array(32).fill(1));
 * mac.update(new Uint8Array(64));
 * mac.finish(tag);
 * ```
 */
export function createPoly1305(options: CreatePoly1305Options = {}): Poly1305Mac {
  const k = getWasmKernels(options.wasm === "none" ? "none" : "poly1305");
  return k === null ? new Poly1305() : new WasmPoly1305(k);
}
