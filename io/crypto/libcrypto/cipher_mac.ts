/**
 * AES-CTR and AES-CBC (one libcrypto context per direction whose counter or
 * chain runs across packets) and HMAC (SHA-1, SHA-2), both working on the
 * packet in place, for the cipher + MAC constructions of core/crypto/cipher_mac.ts.
 *
 * @module
 */

import type { PacketMac, PacketTransform } from "../../../core/crypto/cipher_mac.ts";
import type { HmacHash } from "../../../core/crypto/noble_hmac.ts";
import type { CipherInfo, DirectionKeys } from "../../../core/crypto/types.ts";
import type { LibCryptoSymbols, Pointer } from "./binding.ts";
import { EvpCipher, EvpHmac } from "./contexts.ts";

/** The key length in bytes each AES-CTR/CBC wire name's EVP_CIPHER reads. */
const AES_KEY_LENGTHS: Readonly<Record<string, number>> = {
  "aes128-ctr": 16,
  "aes192-ctr": 24,
  "aes256-ctr": 32,
  "aes128-cbc": 16,
  "aes192-cbc": 24,
  "aes256-cbc": 32,
};

/** The EVP_CIPHER of an AES-CTR or AES-CBC wire name, or undefined. */
export function blockCipher(lib: LibCryptoSymbols, name: string): Pointer | undefined {
  switch (name) {
    case "aes128-ctr":
      return lib.EVP_aes_128_ctr();
    case "aes192-ctr":
      return lib.EVP_aes_192_ctr();
    case "aes256-ctr":
      return lib.EVP_aes_256_ctr();
    case "aes128-cbc":
      return lib.EVP_aes_128_cbc();
    case "aes192-cbc":
      return lib.EVP_aes_192_cbc();
    case "aes256-cbc":
      return lib.EVP_aes_256_cbc();
    default:
      return undefined;
  }
}

/** An AES-CTR/CBC transform whose state runs across packets, in place. */
export function libcryptoTransform(
  lib: LibCryptoSymbols,
  cipher: CipherInfo,
  keys: DirectionKeys,
  direction: "encrypt" | "decrypt",
): PacketTransform {
  const evp = blockCipher(lib, cipher.name);
  if (evp === undefined) throw new RangeError(`libcrypto: no cipher ${cipher.name}`);
  // libcrypto reads as many key and IV bytes as the cipher takes: check them here.
  if (keys.encKey.length !== AES_KEY_LENGTHS[cipher.name] || keys.iv.length !== 16) {
    throw new RangeError(
      `${cipher.name} takes a ${AES_KEY_LENGTHS[cipher.name]}-byte key and a 16-byte IV, ` +
        `not ${keys.encKey.length} and ${keys.iv.length}`,
    );
  }
  const c = new EvpCipher(lib, evp, keys.encKey, keys.iv, direction === "encrypt");
  return {
    blockSize: 16,
    process(data, start, end) {
      c.update(data.subarray(start, end));
    },
  };
}

/** The digests the packet MACs use (MAC_HASHES' values). */
const DIGESTS: Readonly<Partial<Record<HmacHash, readonly [keyof LibCryptoSymbols, number]>>> = {
  sha1: ["EVP_sha1", 20],
  sha256: ["EVP_sha256", 32],
  sha512: ["EVP_sha512", 64],
};

const SEQ = new Uint8Array(4);

/** HMAC over `uint32 seq || data` through libcrypto. */
export class LibcryptoHmac implements PacketMac {
  readonly length: number;
  readonly #hmac: EvpHmac;

  /** Keys the MAC. */
  constructor(lib: LibCryptoSymbols, hash: HmacHash, key: Uint8Array) {
    const digest = DIGESTS[hash];
    if (digest === undefined) throw new RangeError(`libcrypto: no HMAC-${hash} here`);
    const [md, length] = digest;
    this.length = length;
    this.#hmac = new EvpHmac(lib, (lib[md] as () => Pointer)(), length, key);
  }

  compute(seq: number, data: Uint8Array, start: number, end: number, out: Uint8Array): void {
    const s = SEQ; // shared: the call is synchronous
    s[0] = seq >>> 24, s[1] = (seq >>> 16) & 0xff, s[2] = (seq >>> 8) & 0xff, s[3] = seq & 0xff;
    const h = this.#hmac;
    h.begin();
    h.update(s);
    h.update(data.subarray(start, end));
    h.finish(out);
  }
}
