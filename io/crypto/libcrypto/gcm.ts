/**
 * AES-GCM (RFC 5647) through libcrypto, sealing and opening each packet in place:
 * one context per direction, a new invocation counter per packet, no copy.
 *
 * @module
 */

import {
  checkGcmSealable,
  gcmPacketLength,
  isGcmPacket,
} from "../../../core/crypto/noble_aes_gcm.ts";
import type { DirectionKeys, PacketOpener, PacketSealer } from "../../../core/crypto/types.ts";
import { GcmNonce } from "../native_gcm.ts";
import type { LibCryptoSymbols } from "./binding.ts";
import { EvpCipher } from "./contexts.ts";

/** The provider name libcrypto's sealers and openers report. */
export const LIBCRYPTO_PROVIDER = "libcrypto";

/** The EVP_CIPHER for an AES-GCM key of `keyLength` bytes. */
function gcmCipher(lib: LibCryptoSymbols, keyLength: number): unknown {
  if (keyLength === 16) return lib.EVP_aes_128_gcm();
  if (keyLength === 32) return lib.EVP_aes_256_gcm();
  throw new RangeError(`AES-GCM takes a 16- or 32-byte key, not ${keyLength}`);
}

/** The invocation counter from the 12-byte IV (RFC 5647 §7.1). */
function gcmNonce(iv: Uint8Array): GcmNonce {
  if (iv.length !== 12) throw new RangeError(`AES-GCM takes a 12-byte IV, not ${iv.length}`);
  return new GcmNonce(iv);
}

/** Seals AES-GCM packets in place. */
export class LibcryptoGcmSealer implements PacketSealer {
  readonly blockSize = 16;
  readonly tagLength = 16;
  readonly lengthInClear = true;
  readonly provider = LIBCRYPTO_PROVIDER;
  readonly #cipher: EvpCipher;
  readonly #nonce: GcmNonce;

  /** A sealer keyed with `keys.encKey` (16 or 32 bytes), starting at nonce `keys.iv`. */
  constructor(lib: LibCryptoSymbols, keys: DirectionKeys) {
    this.#cipher = new EvpCipher(lib, gcmCipher(lib, keys.encKey.length), keys.encKey, null, true);
    this.#nonce = gcmNonce(keys.iv);
  }

  seal(_seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    checkGcmSealable(packet, tagOut);
    const c = this.#cipher;
    c.setIv(this.#nonce.bytes);
    this.#nonce.next(); // first: a nonce is never used twice, even after a failure
    c.aad(packet.subarray(0, 4));
    c.update(packet.subarray(4));
    if (!c.finish()) throw new Error("libcrypto: AES-GCM seal failed");
    c.getTag(tagOut);
  }
}

/** Opens AES-GCM packets in place; a packet whose tag fails is left zeroed. */
export class LibcryptoGcmOpener implements PacketOpener {
  readonly firstBlockLength = 4;
  readonly tagLength = 16;
  readonly blockSize = 16;
  readonly lengthInClear = true;
  readonly provider = LIBCRYPTO_PROVIDER;
  readonly #cipher: EvpCipher;
  readonly #nonce: GcmNonce;

  /** An opener keyed with `keys.encKey` (16 or 32 bytes), starting at nonce `keys.iv`. */
  constructor(lib: LibCryptoSymbols, keys: DirectionKeys) {
    this.#cipher = new EvpCipher(lib, gcmCipher(lib, keys.encKey.length), keys.encKey, null, false);
    this.#nonce = gcmNonce(keys.iv);
  }

  decryptLength(_seq: number, first: Uint8Array): number {
    return gcmPacketLength(first);
  }

  open(_seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    if (!isGcmPacket(packet, tag)) return false;
    const c = this.#cipher;
    const body = packet.subarray(4);
    c.setIv(this.#nonce.bytes);
    this.#nonce.next();
    c.setTag(tag.subarray(0, 16));
    c.aad(packet.subarray(0, 4));
    c.update(body);
    if (c.finish()) return true;
    // libcrypto decrypts before it checks the tag: leave no unauthenticated plaintext.
    body.fill(0);
    return false;
  }
}
