/**
 * The non-AEAD packet formats: a stateful block/stream cipher plus a MAC, in both
 * of SSH's arrangements. Providers plug in their own cipher and MAC primitives
 * ({@link PacketTransform}, {@link PacketMac}); the packet layout logic lives here
 * once.
 *
 * - Classic encrypt-and-MAC (RFC 4253 §6): MAC = mac(key, uint32 seq ||
 *   plaintext packet); the whole packet, length field included, is encrypted.
 *   The receiver must decrypt the first block to learn the length.
 * - Encrypt-then-MAC (OpenSSH PROTOCOL §1.5, "-etm@openssh.com"): the length stays
 *   in clear; MAC = mac(key, uint32 seq || length || ciphertext), checked before
 *   anything is decrypted.
 *
 * @module
 */

import { LocalProtocolError } from "../errors.ts";
import { constantTimeEqual } from "./constant_time.ts";
import type { PacketOpener, PacketSealer } from "./types.ts";

/** A cipher whose state (keystream position, CBC chain) runs across packets. */
export interface PacketTransform {
  /** Block size in bytes; every call covers whole blocks. */
  readonly blockSize: number;
  /** Encrypts (sealer side) or decrypts (opener side) `data[start..end]` in place. */
  process(data: Uint8Array, start: number, end: number): void;
  /**
   * Optional: like `process` but returns the output in a new buffer of its own and
   * leaves `data` alone, for libraries that allocate their output anyway (`node:crypto`).
   * An ETM opener then offers {@link PacketOpener.openDetached}.
   */
  processDetached?(data: Uint8Array, start: number, end: number): Uint8Array;
}

/** A keyed MAC over `uint32 seq || data`. */
export interface PacketMac {
  /** Bytes of MAC output. */
  readonly length: number;
  /** Writes the MAC of `uint32(seq) || data[start..end]` to `out[0..length]`. */
  compute(seq: number, data: Uint8Array, start: number, end: number, out: Uint8Array): void;
  /**
   * Optional: the MAC of `uint32(seq) || a || b` (two pieces, not joined first). With a
   * transform's `processDetached`, an ETM sealer then offers {@link PacketSealer.sealDetached}.
   */
  compute2?(seq: number, a: Uint8Array, b: Uint8Array, out: Uint8Array): void;
}

/** What a sealer or opener built from a cipher and a MAC needs. */
export interface CipherMacParts {
  /** The cipher, in the direction of use. */
  readonly transform: PacketTransform;
  /** The MAC. */
  readonly mac: PacketMac;
  /** Encrypt-then-MAC (the -etm@openssh.com MACs). */
  readonly etm: boolean;
  /** The provider name to report. */
  readonly provider: string;
}

/**
 * Seals packets with a cipher and a MAC (classic or ETM).
 *
 * @example
 * ```ts
 * import { CipherMacSealer } from "./cipher_mac.ts";
 * const sealer = new CipherMacSealer({
 *   transform: { blockSize: 16, process() {} },
 *   mac: { length: 4, compute(_s, _d, _a, _b, out) { out.fill(1, 0, 4); } },
 *   etm: true,
 *   provider: "example",
 * });
 * sealer.seal(0, new Uint8Array(20), new Uint8Array(4));
 * ```
 */
export class CipherMacSealer implements PacketSealer {
  readonly blockSize: number;
  readonly tagLength: number;
  readonly lengthInClear: boolean;
  readonly provider: string;
  readonly #parts: CipherMacParts;
  /**
   * Present for ETM with a transform that encrypts into a buffer of its own and a MAC
   * over two pieces: [length field, ciphertext, MAC] without touching `packet`.
   */
  readonly sealDetached?: (seq: number, packet: Uint8Array) => Uint8Array[];

  /** Combines a cipher (encrypting) and a MAC. */
  constructor(parts: CipherMacParts) {
    this.#parts = parts;
    this.blockSize = Math.max(8, parts.transform.blockSize);
    this.tagLength = parts.mac.length;
    this.lengthInClear = parts.etm;
    this.provider = parts.provider;
    const { transform, mac } = parts;
    if (parts.etm && transform.processDetached && mac.compute2) {
      this.sealDetached = (seq, packet) => {
        const len = packet.length;
        if (len < 4 || (len - 4) % transform.blockSize !== 0) {
          throw new LocalProtocolError(
            `Cannot seal packet: ${len - 4} encrypted bytes is not a multiple of the ` +
              `${transform.blockSize}-byte block size`,
          );
        }
        const head = packet.slice(0, 4);
        const body = transform.processDetached!(packet, 4, len);
        const tag = new Uint8Array(mac.length);
        mac.compute2!(seq, head, body, tag);
        return [head, body, tag];
      };
    }
  }

  /** Encrypts in place and writes the MAC to `tagOut`. */
  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    const { transform, mac, etm } = this.#parts;
    const len = packet.length;
    const start = etm ? 4 : 0;
    if (len < start || (len - start) % transform.blockSize !== 0) {
      throw new LocalProtocolError(
        `Cannot seal packet: ${len - start} encrypted bytes is not a multiple of the ` +
          `${transform.blockSize}-byte block size`,
      );
    }
    if (tagOut.length < mac.length) {
      throw new LocalProtocolError(`Cannot seal packet: the MAC needs ${mac.length} bytes`);
    }
    if (etm) {
      transform.process(packet, 4, len);
      mac.compute(seq, packet, 0, len, tagOut);
    } else {
      mac.compute(seq, packet, 0, len, tagOut);
      transform.process(packet, 0, len);
    }
  }
}

/**
 * Opens packets protected with a cipher and a MAC (classic or ETM).
 *
 * @example
 * ```ts
 * import { CipherMacOpener } from "./cipher_mac.ts";
 * const opener = new CipherMacOpener({
 *   transform: { blockSize: 16, process() {} },
 *   mac: { length: 4, compute(_s, _d, _a, _b, out) { out.fill(1, 0, 4); } },
 *   etm: true,
 *   provider: "example",
 * });
 * console.log(opener.open(0, new Uint8Array(20), new Uint8Array(4).fill(1))); // true
 * ```
 */
export class CipherMacOpener implements PacketOpener {
  readonly firstBlockLength: number;
  readonly tagLength: number;
  readonly blockSize: number;
  readonly lengthInClear: boolean;
  readonly provider: string;
  readonly #parts: CipherMacParts;
  readonly #expected: Uint8Array;
  // Classic mode: the first block, decrypted by decryptLength, so open can
  // restore it whether or not the transport passed the same buffer.
  readonly #first: Uint8Array;
  #haveFirst = false;
  /** Present for ETM with a transform that decrypts into a buffer of its own (see PacketOpener). */
  readonly openDetached?: (seq: number, packet: Uint8Array, tag: Uint8Array) => Uint8Array | null;

  /** Combines a cipher (decrypting) and a MAC. */
  constructor(parts: CipherMacParts) {
    this.#parts = parts;
    const detached = parts.transform.processDetached?.bind(parts.transform);
    if (parts.etm && detached) {
      this.openDetached = (seq, packet, tag) => {
        const { mac, transform } = this.#parts;
        const len = packet.length;
        if (tag.length < mac.length || len < 4 || (len - 4) % transform.blockSize !== 0) {
          return null;
        }
        mac.compute(seq, packet, 0, len, this.#expected);
        if (!constantTimeEqual(this.#expected, 0, tag, 0, mac.length)) return null;
        return detached(packet, 4, len);
      };
    }
    this.blockSize = Math.max(8, parts.transform.blockSize);
    this.tagLength = parts.mac.length;
    this.lengthInClear = parts.etm;
    this.firstBlockLength = parts.etm ? 4 : parts.transform.blockSize;
    this.provider = parts.provider;
    this.#expected = new Uint8Array(parts.mac.length);
    this.#first = new Uint8Array(parts.transform.blockSize);
  }

  /**
   * ETM: reads the clear length. Classic: decrypts the first block in place (the
   * cipher state moves on), keeps a copy, and returns the length from it.
   */
  decryptLength(_seq: number, first: Uint8Array): number {
    if (!this.#parts.etm) {
      const bs = this.#parts.transform.blockSize;
      if (this.#haveFirst) {
        // Asked again before open(): the cipher already moved past this block.
        first.set(this.#first.subarray(0, Math.min(bs, first.length)));
      } else {
        this.#parts.transform.process(first, 0, bs);
        this.#first.set(first.subarray(0, bs));
        this.#haveFirst = true;
      }
    }
    return ((first[0]! << 24) | (first[1]! << 16) | (first[2]! << 8) | first[3]!) >>> 0;
  }

  /** Verifies the MAC and decrypts in place; false (never a throw) on any bad input. */
  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    const { transform, mac, etm } = this.#parts;
    const len = packet.length;
    const bs = transform.blockSize;
    if (tag.length < mac.length) return false;
    if (etm) {
      if (len < 4 || (len - 4) % bs !== 0) return false;
      mac.compute(seq, packet, 0, len, this.#expected);
      if (!constantTimeEqual(this.#expected, 0, tag, 0, mac.length)) return false;
      transform.process(packet, 4, len);
      return true;
    }
    if (len < bs || len % bs !== 0) return false;
    let from = 0;
    if (this.#haveFirst) {
      packet.set(this.#first, 0);
      this.#haveFirst = false;
      from = bs;
    }
    transform.process(packet, from, len);
    mac.compute(seq, packet, 0, len, this.#expected);
    return constantTimeEqual(this.#expected, 0, tag, 0, mac.length);
  }
}
