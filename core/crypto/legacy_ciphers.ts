/**
 * The legacy non-AES ciphers as packet transforms for the portable provider:
 * `3des-cbc`, `blowfish-cbc`, `cast128-cbc` (RFC 4253 §6.3), `seed-cbc@ssh.com`
 * and `arcfour`, `arcfour128`, `arcfour256` (RFC 4253 §6.3, RFC 4345). All are
 * off by default (see `INSECURE_CIPHERS`): 64-bit blocks (Sweet32), CBC's
 * plaintext-recovery attacks on SSH, and RC4's biased keystream. They exist to
 * reach old devices, which still speak them.
 *
 * @module
 */

import { type BlockCipher, CbcTransform } from "./block_cipher.ts";
import { Blowfish } from "./blowfish.ts";
import { Cast128 } from "./cast128.ts";
import type { PacketTransform } from "./cipher_mac.ts";
import { Des } from "./des.ts";
import { RC4_DISCARD_BYTES, rc4Transform } from "./rc4.ts";
import { Seed } from "./seed.ts";
import type { DirectionKeys } from "./types.ts";

const BLOCK_CIPHERS: Readonly<Record<string, (key: Uint8Array) => BlockCipher>> = {
  "3des-cbc": (k) => new Des(k),
  "blowfish-cbc": (k) => new Blowfish(k),
  "cast128-cbc": (k) => new Cast128(k),
  "seed-cbc@ssh.com": (k) => new Seed(k),
};

/** RC4 variants: keystream bytes discarded first (RFC 4345 §4; none for plain arcfour). */
const RC4_DISCARD: Readonly<Record<string, number>> = {
  "arcfour": 0,
  "arcfour128": RC4_DISCARD_BYTES,
  "arcfour256": RC4_DISCARD_BYTES,
};

/**
 * The transform for a legacy cipher, or undefined when `name` is not one of them.
 *
 * @example
 * ```ts
 * import { legacyTransform } from "./legacy_ciphers.ts";
 * const keys = { encKey: new Uint8Array(24), iv: new Uint8Array(8), macKey: new Uint8Array(0) };
 * console.log(legacyTransform("3des-cbc", keys, "encrypt")?.blockSize); // 8
 * ```
 */
export function legacyTransform(
  name: string,
  keys: DirectionKeys,
  direction: "encrypt" | "decrypt",
): PacketTransform | undefined {
  if (Object.hasOwn(BLOCK_CIPHERS, name)) {
    return new CbcTransform(BLOCK_CIPHERS[name]!(keys.encKey), keys.iv, direction);
  }
  if (Object.hasOwn(RC4_DISCARD, name)) return rc4Transform(keys.encKey, RC4_DISCARD[name]!);
  return undefined;
}
