/**
 * AES-GCM (RFC 5647) through `node:crypto`, with small packets handed to the
 * portable sealer and opener (same bytes, same nonce state).
 *
 * @module
 */

import {
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
} from "node:crypto";
import {
  checkGcmSealable,
  GcmOpener,
  gcmPacketLength,
  GcmSealer,
  isGcmPacket,
} from "../../core/crypto/noble_aes_gcm.ts";
import type { DirectionKeys, PacketOpener, PacketSealer } from "../../core/crypto/types.ts";
import { NATIVE_PROVIDER, putBack } from "./_native.ts";

/** Nonce state of AES-GCM (RFC 5647 §7.1): fixed field and invocation counter. */
export class GcmNonce {
  readonly bytes = new Uint8Array(12);
  #hi: number;
  #lo: number;

  constructor(iv: Uint8Array) {
    this.bytes.set(iv);
    const v = new DataView(iv.buffer, iv.byteOffset, 12);
    this.#hi = v.getUint32(4);
    this.#lo = v.getUint32(8);
  }

  /** Advances the invocation counter (one per packet). */
  next(): void {
    this.#lo = (this.#lo + 1) >>> 0;
    if (this.#lo === 0) this.#hi = (this.#hi + 1) >>> 0;
    const b = this.bytes;
    b[4] = this.#hi >>> 24, b[5] = (this.#hi >>> 16) & 0xff;
    b[6] = (this.#hi >>> 8) & 0xff, b[7] = this.#hi & 0xff;
    b[8] = this.#lo >>> 24, b[9] = (this.#lo >>> 16) & 0xff;
    b[10] = (this.#lo >>> 8) & 0xff, b[11] = this.#lo & 0xff;
  }
}

/**
 * The keys for a portable twin at the nonce reached, taken back from the native key (the
 * direction's key material is not kept beside it: an idle connection holds only the key).
 */
function portableKeys(key: KeyObject, nonce: GcmNonce): DirectionKeys {
  return {
    encKey: new Uint8Array(key.export()),
    macKey: new Uint8Array(0),
    iv: nonce.bytes.slice(),
  };
}

/** Seals AES-GCM packets natively (below `threshold` bytes: portably). */
export class NativeGcmSealer implements PacketSealer {
  readonly blockSize = 16;
  readonly tagLength = 16;
  readonly lengthInClear = true;
  readonly provider = NATIVE_PROVIDER;
  readonly #alg: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #nonce: GcmNonce;
  #small: GcmSealer | undefined;
  readonly #threshold: number;

  constructor(alg: CipherGCMTypes, keys: DirectionKeys, threshold: number) {
    this.#alg = alg;
    this.#key = createSecretKey(keys.encKey);
    this.#nonce = new GcmNonce(keys.iv);
    this.#threshold = threshold;
  }

  /**
   * The portable sealer, made for the first small packet (its key schedule and GHASH
   * tables are 8 KiB, which a runtime whose native path wins at every size — Bun —
   * or a connection that never sends a small one need not hold), at the nonce reached.
   */
  #portable(): GcmSealer {
    return this.#small ??= new GcmSealer(portableKeys(this.#key, this.#nonce));
  }

  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    checkGcmSealable(packet, tagOut);
    const len = packet.length;
    if (len - 4 < this.#threshold) {
      this.#portable().seal(seq, packet, tagOut);
    } else {
      const c = createCipheriv(this.#alg, this.#key, this.#nonce.bytes);
      c.setAAD(packet.subarray(0, 4));
      putBack(packet, 4, len - 4, c.update(packet.subarray(4)));
      c.final();
      tagOut.set(c.getAuthTag());
      this.#small?.skip();
    }
    this.#nonce.next();
  }

  /**
   * Seals into node:crypto's own output: returns [length field, ciphertext, tag], none of
   * them sharing memory with `packet` (see PacketSealer.sealDetached).
   */
  sealDetached(seq: number, packet: Uint8Array): Uint8Array[] {
    const len = packet.length;
    if (len - 4 < this.#threshold) {
      const out = new Uint8Array(len + 16);
      out.set(packet);
      this.seal(seq, out.subarray(0, len), out.subarray(len));
      return [out];
    }
    if (len < 4 || ((len - 4) & 15) !== 0) {
      throw new RangeError(
        `Cannot seal AES-GCM packet: ${len - 4} bytes after the length field is not a ` +
          `multiple of 16`,
      );
    }
    const c = createCipheriv(this.#alg, this.#key, this.#nonce.bytes);
    const head = packet.slice(0, 4);
    c.setAAD(head);
    const body = c.update(packet.subarray(4));
    c.final();
    const tag = c.getAuthTag();
    if (body.length !== len - 4) {
      throw new RangeError(`node:crypto returned ${body.length} bytes for ${len - 4}`);
    }
    this.#small?.skip();
    this.#nonce.next();
    // Plain Uint8Array views: what the socket adapters and tests expect.
    return [
      head,
      new Uint8Array(body.buffer, body.byteOffset, body.length),
      new Uint8Array(tag.buffer, tag.byteOffset, tag.length),
    ];
  }

  /** Advances the invocation counter as if a packet had been sealed (by another path). */
  skip(): void {
    this.#small?.skip();
    this.#nonce.next();
  }
}

/** Opens AES-GCM packets natively (below `threshold` bytes: portably). */
export class NativeGcmOpener implements PacketOpener {
  readonly firstBlockLength = 4;
  readonly tagLength = 16;
  readonly blockSize = 16;
  readonly lengthInClear = true;
  readonly provider = NATIVE_PROVIDER;
  readonly #alg: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #nonce: GcmNonce;
  #small: GcmOpener | undefined;
  readonly #threshold: number;

  constructor(alg: CipherGCMTypes, keys: DirectionKeys, threshold: number) {
    this.#alg = alg;
    this.#key = createSecretKey(keys.encKey);
    this.#nonce = new GcmNonce(keys.iv);
    this.#threshold = threshold;
  }

  /** The portable opener, made for the first small packet at the nonce reached (see the sealer's). */
  #portable(): GcmOpener {
    return this.#small ??= new GcmOpener(portableKeys(this.#key, this.#nonce));
  }

  decryptLength(_seq: number, first: Uint8Array): number {
    return gcmPacketLength(first);
  }

  /**
   * Large packets: decrypts into node:crypto's fresh output and returns it (as a plain
   * Uint8Array view of it) instead of copying it back; small ones: a copy of the portable
   * opener's in-place result. Null when the tag does not verify.
   */
  openDetached(seq: number, packet: Uint8Array, tag: Uint8Array): Uint8Array | null {
    if (!isGcmPacket(packet, tag)) return null;
    const len = packet.length;
    if (len - 4 < this.#threshold) {
      return this.open(seq, packet, tag) ? packet.slice(4) : null;
    }
    this.#small?.skip();
    let plain: Uint8Array | null = null;
    try {
      const d = createDecipheriv(this.#alg, this.#key, this.#nonce.bytes);
      d.setAAD(packet.subarray(0, 4));
      d.setAuthTag(tag.subarray(0, 16));
      // OpenSSL hands out plaintext before checking the tag: it is returned only once
      // final() has verified the tag.
      const out = d.update(packet.subarray(4));
      d.final();
      if (out.length === len - 4) plain = new Uint8Array(out.buffer, out.byteOffset, out.length);
    } catch {
      plain = null;
    }
    this.#nonce.next();
    return plain;
  }

  /** Advances the invocation counter as if a packet had been opened (by another path). */
  skip(): void {
    this.#small?.skip();
    this.#nonce.next();
  }

  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    if (!isGcmPacket(packet, tag)) return false;
    const len = packet.length;
    let ok: boolean;
    if (len - 4 < this.#threshold) {
      ok = this.#portable().open(seq, packet, tag);
    } else {
      this.#small?.skip();
      ok = true;
      try {
        const d = createDecipheriv(this.#alg, this.#key, this.#nonce.bytes);
        d.setAAD(packet.subarray(0, 4));
        d.setAuthTag(tag.subarray(0, 16));
        // OpenSSL hands out plaintext before checking the tag: keep it aside and
        // write it into the packet only once final() has verified the tag.
        const plain = d.update(packet.subarray(4));
        d.final();
        putBack(packet, 4, len - 4, plain);
      } catch {
        ok = false;
      }
    }
    this.#nonce.next();
    return ok;
  }
}
