/**
 * chacha20-poly1305@openssh.com packets sealed and opened entirely by the
 * WebAssembly kernels (SIMD ChaCha20 and Poly1305): the packet is copied into
 * linear memory, one call encrypts and tags it (or checks and decrypts it), and
 * the result is copied back — two copies at ~15 GB/s around 0.3–0.5 GB/s of
 * crypto per direction (SIMD ChaCha20 ≈ 0.55 GB/s on JSC and 0.8 on V8,
 * Poly1305 ≈ 0.8 and 1.0, per CPU second on this loaded machine).
 *
 * Used by `../noble_chacha20_poly1305.ts` where the kernels have SIMD; packets
 * larger than the data region ({@link WASM_PACKET_CAPACITY}, above SSH's 256 KiB
 * limit) are left to the caller's other path.
 *
 * @module
 */

import { getWasmKernels, WASM_LAYOUT, type WasmKernels } from "./kernels.ts";

/**
 * The largest packet (length field included) these functions take.
 *
 * @example
 * ```ts
 * import { WASM_PACKET_CAPACITY } from "./chacha20_poly1305_wasm.ts";
 * console.log(WASM_PACKET_CAPACITY > 4 + 256 * 1024); // true
 * ```
 */
export const WASM_PACKET_CAPACITY: number = WASM_LAYOUT.dataCapacity;

const L = WASM_LAYOUT;

/**
 * One direction's keys (K_2 | K_1, 64 bytes) and the kernels that use them.
 *
 * @example Seal a packet, then open it
 * ```ts
 * import { WasmChaChaPolyPackets } from "./chacha20_poly1305_wasm.ts";
 * const p = WasmChaChaPolyPackets.create(new Uint8Array(64).fill(3));
 * if (p !== null) {
 *   const packet = new Uint8Array([0, 0, 0, 8, 4, 1, 2, 3, 0, 0, 0, 0]);
 *   const tag = new Uint8Array(16);
 *   p.seal(0, packet, tag);
 *   console.log(p.open(0, packet, tag)); // true
 * }
 * ```
 */
export class WasmChaChaPolyPackets {
  readonly #k: WasmKernels;
  readonly #key: Uint8Array;

  /**
   * Null where the SIMD kernels are unavailable. `encKey` is K_2 | K_1 (64 bytes), copied
   * unless `adopt` says the caller hands over a copy of its own that nothing changes.
   */
  static create(encKey: Uint8Array, adopt = false): WasmChaChaPolyPackets | null {
    if (encKey.length !== 64) {
      throw new RangeError(
        `chacha20-poly1305@openssh.com needs a 64-byte key, got ${encKey.length} bytes`,
      );
    }
    const k = getWasmKernels("auto");
    return k === null || k.packet === null
      ? null
      : new WasmChaChaPolyPackets(k, adopt ? encKey : encKey.slice());
  }

  private constructor(kernels: WasmKernels, key: Uint8Array) {
    this.#k = kernels;
    this.#key = key;
  }

  /**
   * Encrypts `packet` (length field first, at most {@link WASM_PACKET_CAPACITY}
   * bytes) in place and writes the 16-byte tag to `tagOut`. `n15` is ChaCha20
   * state word 15 for the sequence number.
   */
  seal(n15: number, packet: Uint8Array, tagOut: Uint8Array): void {
    const mem = this.#load(packet);
    const len = packet.length;
    this.#k.packet!.chachapoly_seal(L.keyMain, L.keyHeader, n15, L.data, len, L.tag);
    packet.set(mem.subarray(L.data, L.data + len));
    for (let i = 0; i < 16; i++) tagOut[i] = mem[L.tag + i]!;
  }

  /**
   * Checks `tag` over the encrypted `packet`; when it matches, decrypts the
   * packet in place and returns true. Returns false, packet untouched, otherwise.
   */
  open(n15: number, packet: Uint8Array, tag: Uint8Array): boolean {
    const mem = this.#load(packet);
    const len = packet.length;
    for (let i = 0; i < 16; i++) mem[L.tag + i] = tag[i]!;
    if (this.#k.packet!.chachapoly_open(L.keyMain, L.keyHeader, n15, L.data, len, L.tag) !== 1) {
      return false;
    }
    packet.set(mem.subarray(L.data, L.data + len));
    return true;
  }

  /** Copies the keys and the packet into linear memory. */
  #load(packet: Uint8Array): Uint8Array {
    if (packet.length < 4 || packet.length > WASM_PACKET_CAPACITY) {
      throw new RangeError(
        `Cannot process a ${packet.length}-byte packet in WebAssembly: ` +
          `it must be 4..${WASM_PACKET_CAPACITY} bytes`,
      );
    }
    const mem = this.#k.memory;
    mem.set(this.#key, L.keyMain); // K_2 at keyMain, K_1 right after at keyHeader
    mem.set(packet, L.data);
    return mem;
  }
}
