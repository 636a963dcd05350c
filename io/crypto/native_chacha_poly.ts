/**
 * chacha20-poly1305@openssh.com with the payload's ChaCha20 from `node:crypto`
 * and the length field, the Poly1305 key and Poly1305 itself from our own code
 * (WebAssembly where it can, else JavaScript).
 *
 * @module
 */

import { createCipheriv, createSecretKey, type KeyObject } from "node:crypto";
import { chacha20Block, ChaCha20Key, chacha20XorInPlace } from "../../core/crypto/chacha20.ts";
import { constantTimeEqual } from "../../core/crypto/constant_time.ts";
import { ChaChaPolyOpener, ChaChaPolySealer } from "../../core/crypto/noble_chacha20_poly1305.ts";
import type { DirectionKeys, PacketOpener, PacketSealer } from "../../core/crypto/types.ts";
import type { WasmMode } from "../../core/crypto/wasm/kernels.ts";
import { createPoly1305, type Poly1305Mac } from "../../core/crypto/wasm/poly1305_wasm.ts";
import { bswap32, chachaIv, NATIVE_PROVIDER, putBack } from "./_native.ts";

/** The small-packet threshold for a portable implementation ("wasm", "js", ...). */
export type ChaChaThreshold = (implementation: string) => number;

/** Native ChaCha20 for the payload; JS for the 4-byte length and the Poly1305 key. */
class NativeChaChaPoly {
  readonly main: ChaCha20Key; // K_2, JS (Poly1305 key block)
  readonly header: ChaCha20Key; // K_1, JS (length)
  readonly mainKey: KeyObject; // K_2, native (payload)
  readonly poly: Poly1305Mac;
  readonly tag = new Uint8Array(16);
  readonly iv = new Uint8Array(16);
  readonly len = new Uint8Array(4);

  constructor(keys: DirectionKeys, wasm: WasmMode) {
    this.poly = createPoly1305({ wasm });
    this.main = new ChaCha20Key(keys.encKey.subarray(0, 32));
    this.header = new ChaCha20Key(keys.encKey.subarray(32, 64));
    this.mainKey = createSecretKey(keys.encKey.subarray(0, 32));
  }

  initPoly(seq: number): void {
    chacha20Block(this.main, 0, 0, 0, bswap32(seq));
    this.poly.init(this.main.blockBytes, 0);
    this.main.blockBytes.fill(0, 0, 32);
  }

  cryptLength(seq: number, data: Uint8Array): void {
    chacha20XorInPlace(this.header, 0, 0, 0, bswap32(seq), data, 0, 4);
  }

  cryptPayload(seq: number, packet: Uint8Array): void {
    putBack(packet, 4, packet.length - 4, this.payloadDetached(seq, packet));
  }

  /** The payload (after the length field) en- or decrypted into node:crypto's own output. */
  payloadDetached(seq: number, packet: Uint8Array): Uint8Array {
    const c = createCipheriv("chacha20", this.mainKey, chachaIv(1, seq, this.iv));
    const out = c.update(packet.subarray(4));
    if (out.length !== packet.length - 4) {
      throw new RangeError(`node:crypto returned ${out.length} bytes for ${packet.length - 4}`);
    }
    // A plain Uint8Array view: what sockets, streams and tests expect.
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}

/**
 * The native state (a node:crypto key object, K_2, Poly1305), made on the first packet over
 * the threshold: connections that only ever carry small packets never hold it.
 */
class LazyNativeChaChaPoly {
  #native: NativeChaChaPoly | undefined;
  #encKey: Uint8Array | undefined;
  readonly #wasm: WasmMode;

  /**
   * Keeps `encKey` itself, not a copy (an idle connection would hold two more buffers): the
   * transport's derived keys, which nothing changes once the sealer or opener is made.
   */
  constructor(encKey: Uint8Array, wasm: WasmMode) {
    this.#encKey = encKey;
    this.#wasm = wasm;
  }

  get(): NativeChaChaPoly {
    if (this.#native === undefined) {
      const none = new Uint8Array(0);
      this.#native = new NativeChaChaPoly(
        { encKey: this.#encKey!, iv: none, macKey: none },
        this.#wasm,
      );
      this.#encKey = undefined;
    }
    return this.#native;
  }
}

/** Seals chacha20-poly1305 packets with native ChaCha20 (small ones portably). */
export class NativeChaChaPolySealer implements PacketSealer {
  readonly blockSize = 8;
  readonly tagLength = 16;
  readonly lengthInClear = true; // as the portable one: padding excludes the length field
  readonly provider = NATIVE_PROVIDER;
  readonly #small: ChaChaPolySealer;
  readonly #threshold: number;
  readonly #native: LazyNativeChaChaPoly;

  constructor(keys: DirectionKeys, threshold: ChaChaThreshold, wasm: WasmMode) {
    this.#small = new ChaChaPolySealer(keys, { wasm });
    this.#threshold = threshold(this.#small.implementation);
    this.#native = new LazyNativeChaChaPoly(keys.encKey, wasm);
  }

  get #st(): NativeChaChaPoly {
    return this.#native.get();
  }

  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    if (packet.length - 4 < this.#threshold) return this.#small.seal(seq, packet, tagOut);
    if (tagOut.length < 16) {
      throw new RangeError("Cannot seal chacha20-poly1305 packet: the tag buffer is short");
    }
    const st = this.#st;
    st.initPoly(seq);
    st.cryptLength(seq, packet);
    st.cryptPayload(seq, packet);
    st.poly.update(packet, 0, packet.length);
    st.poly.finish(tagOut, 0);
  }

  /**
   * Seals into node:crypto's own output: [length field, ciphertext, tag], none sharing
   * memory with `packet` (see PacketSealer.sealDetached).
   */
  sealDetached(seq: number, packet: Uint8Array): Uint8Array[] {
    const len = packet.length;
    if (len - 4 < this.#threshold) {
      const out = new Uint8Array(len + 16);
      out.set(packet);
      this.seal(seq, out.subarray(0, len), out.subarray(len));
      return [out];
    }
    const st = this.#st;
    st.initPoly(seq);
    const head = packet.slice(0, 4);
    st.cryptLength(seq, head);
    const body = st.payloadDetached(seq, packet);
    const tag = new Uint8Array(16);
    st.poly.update(head, 0, 4);
    st.poly.update(body, 0, body.length);
    st.poly.finish(tag, 0);
    return [head, body, tag];
  }
}

/** Opens chacha20-poly1305 packets with native ChaCha20 (small ones portably). */
export class NativeChaChaPolyOpener implements PacketOpener {
  readonly firstBlockLength = 4;
  readonly tagLength = 16;
  readonly blockSize = 8;
  readonly lengthInClear = true;
  readonly provider = NATIVE_PROVIDER;
  readonly #small: ChaChaPolyOpener;
  readonly #threshold: number;
  readonly #native: LazyNativeChaChaPoly;

  constructor(keys: DirectionKeys, threshold: ChaChaThreshold, wasm: WasmMode) {
    this.#small = new ChaChaPolyOpener(keys, { wasm });
    this.#threshold = threshold(this.#small.implementation);
    this.#native = new LazyNativeChaChaPoly(keys.encKey, wasm);
  }

  get #st(): NativeChaChaPoly {
    return this.#native.get();
  }

  decryptLength(seq: number, first: Uint8Array): number {
    return this.#small.decryptLength(seq, first);
  }

  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    if (packet.length < 4 || tag.length < 16) return false;
    if (packet.length - 4 < this.#threshold) return this.#small.open(seq, packet, tag);
    const st = this.#st;
    st.initPoly(seq);
    st.poly.update(packet, 0, packet.length);
    st.poly.finish(st.tag, 0);
    if (!constantTimeEqual(st.tag, 0, tag, 0, 16)) return false;
    st.cryptLength(seq, packet);
    st.cryptPayload(seq, packet);
    return true;
  }

  /**
   * Like `open`, but large packets decrypt into node:crypto's own output, returned
   * (padding_length onwards) instead of copied back; null when the tag does not verify.
   */
  openDetached(seq: number, packet: Uint8Array, tag: Uint8Array): Uint8Array | null {
    if (packet.length < 4 || tag.length < 16) return null;
    if (packet.length - 4 < this.#threshold) {
      return this.#small.open(seq, packet, tag) ? packet.slice(4) : null;
    }
    const st = this.#st;
    st.initPoly(seq);
    st.poly.update(packet, 0, packet.length);
    st.poly.finish(st.tag, 0);
    if (!constantTimeEqual(st.tag, 0, tag, 0, 16)) return null;
    return st.payloadDetached(seq, packet);
  }
}
