/**
 * chacha20-poly1305@openssh.com (OpenSSH's PROTOCOL.chacha20poly1305) through
 * libcrypto's ChaCha20 and Poly1305, in place. K_2 (bytes 0..31 of the key)
 * makes the Poly1305 key (block 0) and encrypts the payload (from block 1);
 * K_1 (bytes 32..63) encrypts the length field; the nonce is the sequence number.
 *
 * @module
 */

import { constantTimeEqual } from "../../../core/crypto/constant_time.ts";
import type { DirectionKeys, PacketOpener, PacketSealer } from "../../../core/crypto/types.ts";
import { chachaIv } from "../_native.ts";
import type { LibCryptoSymbols } from "./binding.ts";
import { EvpCipher, EvpPoly1305 } from "./contexts.ts";
import { LIBCRYPTO_PROVIDER } from "./gcm.ts";

const ZEROS = new Uint8Array(64);

/**
 * Scratch shared by every direction's state (the calls are synchronous; nothing stays in
 * them between two): the IV, the Poly1305 key block, a computed tag, a decrypted length.
 */
const IV = new Uint8Array(16);
const BLOCK = new Uint8Array(64);
const POLY_KEY = BLOCK.subarray(0, 32);
const TAG = new Uint8Array(16);
const LENGTH = new Uint8Array(4);

/** The two keyed ChaCha20 contexts and Poly1305 of one direction. */
class ChaChaPoly {
  readonly #main: EvpCipher;
  readonly #header: EvpCipher;
  readonly #poly: EvpPoly1305;

  constructor(lib: LibCryptoSymbols, keys: DirectionKeys) {
    if (keys.encKey.length !== 64) {
      throw new RangeError(
        `chacha20-poly1305@openssh.com needs a 64-byte key, got ${keys.encKey.length} bytes`,
      );
    }
    const chacha = lib.EVP_chacha20();
    this.#main = new EvpCipher(lib, chacha, keys.encKey.subarray(0, 32), IV.fill(0), true);
    this.#header = new EvpCipher(lib, chacha, keys.encKey.subarray(32, 64), IV, true);
    this.#poly = new EvpPoly1305(lib);
  }

  /** XORs K_1's keystream for `seq` into `length` (4 bytes, in place or into `out`). */
  cryptLength(seq: number, length: Uint8Array, out: Uint8Array = length): void {
    this.#header.setIv(chachaIv(0, seq, IV));
    this.#header.updateInto(out, length);
  }

  /** The Poly1305 tag of `data` for `seq`, into `out`. */
  mac(seq: number, data: Uint8Array, out: Uint8Array): void {
    this.#main.setIv(chachaIv(0, seq, IV));
    this.#main.updateInto(BLOCK, ZEROS);
    this.#poly.mac(POLY_KEY, data, out);
    BLOCK.fill(0);
  }

  /** XORs K_2's keystream from block 1 for `seq` into `payload`, in place. */
  cryptPayload(seq: number, payload: Uint8Array): void {
    this.#main.setIv(chachaIv(1, seq, IV));
    this.#main.update(payload);
  }
}

/** Seals chacha20-poly1305@openssh.com packets in place. */
export class LibcryptoChaChaPolySealer implements PacketSealer {
  readonly blockSize = 8;
  readonly tagLength = 16;
  readonly lengthInClear = true; // as the portable one: padding excludes the length field
  readonly provider = LIBCRYPTO_PROVIDER;
  readonly #st: ChaChaPoly;

  /** A sealer keyed with the 64-byte `keys.encKey`. */
  constructor(lib: LibCryptoSymbols, keys: DirectionKeys) {
    this.#st = new ChaChaPoly(lib, keys);
  }

  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    if (packet.length < 4 || tagOut.length < 16) {
      throw new RangeError("Cannot seal chacha20-poly1305 packet: packet or tag buffer too short");
    }
    const st = this.#st;
    st.cryptLength(seq, packet.subarray(0, 4));
    st.cryptPayload(seq, packet.subarray(4));
    st.mac(seq, packet, tagOut);
  }
}

/** Opens chacha20-poly1305@openssh.com packets: the tag is checked before anything is decrypted. */
export class LibcryptoChaChaPolyOpener implements PacketOpener {
  readonly firstBlockLength = 4;
  readonly tagLength = 16;
  readonly blockSize = 8;
  readonly lengthInClear = true;
  readonly provider = LIBCRYPTO_PROVIDER;
  readonly #st: ChaChaPoly;

  /** An opener keyed with the 64-byte `keys.encKey`. */
  constructor(lib: LibCryptoSymbols, keys: DirectionKeys) {
    this.#st = new ChaChaPoly(lib, keys);
  }

  decryptLength(seq: number, first: Uint8Array): number {
    const l = LENGTH;
    this.#st.cryptLength(seq, first.subarray(0, 4), l);
    return ((l[0]! << 24) | (l[1]! << 16) | (l[2]! << 8) | l[3]!) >>> 0;
  }

  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    if (packet.length < 4 || tag.length < 16) return false;
    const st = this.#st;
    st.mac(seq, packet, TAG);
    if (!constantTimeEqual(TAG, 0, tag, 0, 16)) return false;
    // The length field stays as sent, as the portable opener leaves it.
    st.cryptPayload(seq, packet.subarray(4));
    return true;
  }
}
