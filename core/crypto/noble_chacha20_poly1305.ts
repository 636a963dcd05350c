/**
 * chacha20-poly1305@openssh.com, portable (OpenSSH PROTOCOL.chacha20poly1305).
 *
 * The 64-byte key is K_2 (bytes 0..31, payload and Poly1305 key) then K_1 (bytes
 * 32..63, the length field). Both ChaCha20 instances use the original 64-bit
 * nonce layout with nonce = the sequence number as a 64-bit big-endian integer.
 * The 4-byte length is encrypted with K_1 from block 0; the Poly1305 one-time key
 * is the first 32 bytes of K_2's block 0; the payload is encrypted with K_2 from
 * block 1; the tag covers the encrypted length and the encrypted payload.
 *
 * `lengthInClear` is true here although the length is encrypted: the flag tells
 * the transport how to pad, and like AES-GCM and ETM, OpenSSH treats the length
 * as 4 bytes of "additional data" outside the payload cipher (packet.c: aadlen =
 * 4 when the cipher has a tag), so padding aligns packet_length — not
 * 4 + packet_length — to 8. The transport must still always call decryptLength.
 *
 * Three implementations, fastest first, chosen once per sealer/opener by what
 * the platform offers (see {@link ChaChaPolyOptions}); all give the same bytes:
 * - "wasm": the whole packet in the WebAssembly kernels (SIMD ChaCha20 and
 *   Poly1305, ./wasm/chacha20_poly1305_wasm.ts);
 * - "js+wasm-poly1305": our JavaScript ChaCha20 (./chacha20.ts) and the
 *   WebAssembly Poly1305 (engines without SIMD);
 * - "js": our JavaScript ChaCha20 and Poly1305 (./poly1305.ts) where
 *   WebAssembly is missing or forbidden.
 * The tests check each against noble's.
 *
 * @module
 */

import { chacha20Block, ChaCha20Key, chacha20XorInPlace } from "./chacha20.ts";
import { constantTimeEqual } from "./constant_time.ts";
import type { DirectionKeys, PacketOpener, PacketSealer } from "./types.ts";
import { WASM_PACKET_CAPACITY, WasmChaChaPolyPackets } from "./wasm/chacha20_poly1305_wasm.ts";
import type { WasmMode } from "./wasm/kernels.ts";
import { createPoly1305, type Poly1305Mac, WasmPoly1305 } from "./wasm/poly1305_wasm.ts";

const TAG_LENGTH = 16;
/** Padding alignment: ChaCha20 is a stream cipher, so SSH's minimum of 8. */
const BLOCK = 8;

/** State word 15 of the nonce: bytes 4..7 of uint64be(seq), read little-endian. */
function nonceWord(seq: number): number {
  const s = seq >>> 0;
  return ((s & 0xff) << 24) | ((s & 0xff00) << 8) | ((s >>> 8) & 0xff00) | (s >>> 24);
}

/**
 * Options of {@link ChaChaPolySealer} and {@link ChaChaPolyOpener}.
 *
 * @example Force the pure JavaScript path (tests of the fallback)
 * ```ts
 * import { ChaChaPolySealer } from "./noble_chacha20_poly1305.ts";
 * const keys = { encKey: new Uint8Array(64), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
 * console.log(new ChaChaPolySealer(keys, { wasm: "none" }).implementation); // "js"
 * ```
 */
export interface ChaChaPolyOptions {
  /**
   * WebAssembly use: "auto" (default) takes the fastest that works here;
   * "poly1305" keeps ChaCha20 in JavaScript; "none" uses no WebAssembly.
   */
  readonly wasm?: WasmMode;
}

/**
 * One direction's state. Only the key copy is made up front: the WebAssembly kernels take
 * whole packets, so K_1, K_2, Poly1305 and the scratch buffers are made when a packet first
 * needs them (an idle connection holds two of these per direction pair).
 */
class ChaChaPolyState {
  readonly packets: WasmChaChaPolyPackets | null;
  readonly implementation: string;
  /** K_2 | K_1, this state's own copy. */
  readonly #key: Uint8Array;
  readonly #wasm: WasmMode;
  #header: ChaCha20Key | undefined;
  #main: ChaCha20Key | undefined;
  #poly: Poly1305Mac | undefined;
  #tag: Uint8Array | undefined;
  #len: Uint8Array | undefined;

  constructor(keys: DirectionKeys, options: ChaChaPolyOptions) {
    if (keys.encKey.length !== 64) {
      throw new RangeError(
        `chacha20-poly1305@openssh.com needs a 64-byte key, got ${keys.encKey.length} bytes`,
      );
    }
    const wasm = options.wasm ?? "auto";
    this.#wasm = wasm;
    this.#key = keys.encKey.slice();
    this.packets = wasm === "auto" ? WasmChaChaPolyPackets.create(this.#key, true) : null;
    this.implementation = this.packets !== null
      ? "wasm"
      : this.poly instanceof WasmPoly1305
      ? "js+wasm-poly1305"
      : "js";
  }

  /** K_1 (the length field). */
  get header(): ChaCha20Key {
    return this.#header ??= new ChaCha20Key(this.#key.subarray(32, 64));
  }

  /** K_2 (payload and Poly1305 key). */
  get main(): ChaCha20Key {
    return this.#main ??= new ChaCha20Key(this.#key.subarray(0, 32));
  }

  /** The Poly1305 instance. */
  get poly(): Poly1305Mac {
    return this.#poly ??= createPoly1305({ wasm: this.#wasm });
  }

  /** Scratch for a computed tag. */
  get tag(): Uint8Array {
    return this.#tag ??= new Uint8Array(TAG_LENGTH);
  }

  /** Scratch for a decrypted length field. */
  get len(): Uint8Array {
    return this.#len ??= new Uint8Array(4);
  }

  /** Starts Poly1305 with the one-time key from K_2's block 0. */
  initPoly(n15: number): void {
    const main = this.main;
    chacha20Block(main, 0, 0, 0, n15);
    this.poly.init(main.blockBytes, 0);
    main.blockBytes.fill(0, 0, 32);
  }
}

/**
 * Seals packets with chacha20-poly1305@openssh.com.
 *
 * @example
 * ```ts
 * import { ChaChaPolySealer } from "./noble_chacha20_poly1305.ts";
 * const s = new ChaChaPolySealer({ encKey: new Uint8Array(64), iv: new Uint8Array(0), macKey: new Uint8Array(0) });
 * const packet = new Uint8Array(4 + 8);
 * packet[3] = 8;
 * const tag = new Uint8Array(16);
 * s.seal(0, packet, tag);
 * ```
 */
export class ChaChaPolySealer implements PacketSealer {
  readonly blockSize: number = BLOCK;
  readonly tagLength: number = TAG_LENGTH;
  readonly lengthInClear: boolean = true; // see the module doc: padding excludes the length field
  readonly provider: string = "noble";
  /** Which implementation seals: "wasm", "js+wasm-poly1305" or "js" (see the module doc). */
  readonly implementation: string;
  readonly #st: ChaChaPolyState;

  /** Expands K_2 and K_1 from the 64-byte derived key. */
  constructor(keys: DirectionKeys, options: ChaChaPolyOptions = {}) {
    this.#st = new ChaChaPolyState(keys, options);
    this.implementation = this.#st.implementation;
  }

  /** Encrypts the length (K_1) and payload (K_2) in place, then writes the Poly1305 tag. */
  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    if (packet.length < 4 || tagOut.length < TAG_LENGTH) {
      throw new RangeError("Cannot seal chacha20-poly1305 packet: packet or tag buffer too short");
    }
    const st = this.#st;
    const n15 = nonceWord(seq);
    if (st.packets !== null && packet.length <= WASM_PACKET_CAPACITY) {
      return st.packets.seal(n15, packet, tagOut);
    }
    st.initPoly(n15);
    chacha20XorInPlace(st.header, 0, 0, 0, n15, packet, 0, 4);
    chacha20XorInPlace(st.main, 1, 0, 0, n15, packet, 4, packet.length);
    st.poly.update(packet, 0, packet.length);
    st.poly.finish(tagOut, 0);
  }
}

/**
 * Opens packets sealed with chacha20-poly1305@openssh.com: checks the tag before
 * decrypting anything.
 *
 * @example
 * ```ts
 * import { ChaChaPolyOpener } from "./noble_chacha20_poly1305.ts";
 * const o = new ChaChaPolyOpener({ encKey: new Uint8Array(64), iv: new Uint8Array(0), macKey: new Uint8Array(0) });
 * console.log(o.open(0, new Uint8Array(12), new Uint8Array(16))); // false
 * ```
 */
export class ChaChaPolyOpener implements PacketOpener {
  readonly firstBlockLength: number = 4;
  readonly tagLength: number = TAG_LENGTH;
  readonly blockSize: number = BLOCK;
  readonly lengthInClear: boolean = true; // see the module doc
  readonly provider: string = "noble";
  /** Which implementation opens: "wasm", "js+wasm-poly1305" or "js" (see the module doc). */
  readonly implementation: string;
  readonly #st: ChaChaPolyState;

  /** Expands K_2 and K_1 from the 64-byte derived key. */
  constructor(keys: DirectionKeys, options: ChaChaPolyOptions = {}) {
    this.#st = new ChaChaPolyState(keys, options);
    this.implementation = this.#st.implementation;
  }

  /** Decrypts a copy of the length with K_1; `first` is left as it is. */
  decryptLength(seq: number, first: Uint8Array): number {
    const l = this.#st.len;
    l.set(first.subarray(0, 4));
    chacha20XorInPlace(this.#st.header, 0, 0, 0, nonceWord(seq), l, 0, 4);
    return ((l[0]! << 24) | (l[1]! << 16) | (l[2]! << 8) | l[3]!) >>> 0;
  }

  /** Verifies the tag over the encrypted packet; only then decrypts length and payload. */
  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    if (packet.length < 4 || tag.length < TAG_LENGTH) return false;
    const st = this.#st;
    const n15 = nonceWord(seq);
    if (st.packets !== null && packet.length <= WASM_PACKET_CAPACITY) {
      return st.packets.open(n15, packet, tag);
    }
    st.initPoly(n15);
    st.poly.update(packet, 0, packet.length);
    st.poly.finish(st.tag, 0);
    if (!constantTimeEqual(st.tag, 0, tag, 0, TAG_LENGTH)) return false;
    chacha20XorInPlace(st.header, 0, 0, 0, n15, packet, 0, 4);
    chacha20XorInPlace(st.main, 1, 0, 0, n15, packet, 4, packet.length);
    return true;
  }
}
