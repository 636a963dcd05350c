/**
 * Finds out once what the running runtime's `node:crypto` can do, by trying
 * each cipher and hash on a small input.
 *
 * @module
 */

import { createCipheriv, createHash, createSecretKey } from "node:crypto";
import { ChaCha20Key, chacha20XorInPlace } from "../../core/crypto/chacha20.ts";
import { constantTimeEqual } from "../../core/crypto/constant_time.ts";
import { bswap32, chachaIv, CIPHER_ALGORITHMS, MAC_HASHES } from "./_native.ts";

/** What the running runtime's `node:crypto` can do, found by trying it. */
export interface NativeAvailability {
  /** Cipher wire names that work natively. */
  readonly ciphers: readonly string[];
  /** MAC wire names that work natively. */
  readonly macs: readonly string[];
}

let availability: NativeAvailability | undefined;

/**
 * Probes `node:crypto` once: each cipher and hash is tried on a small input, and
 * ChaCha20's IV layout (OpenSSL's 4-byte counter + 12-byte nonce) is checked
 * against our JS ChaCha20, so a runtime whose implementation differs is not used.
 *
 * @example
 * ```ts
 * import { probeNativeCrypto } from "./native_probe.ts";
 * console.log(probeNativeCrypto().ciphers.includes("aes128-ctr"));
 * ```
 */
export function probeNativeCrypto(): NativeAvailability {
  if (availability) return availability;
  const ciphers: string[] = [];
  for (const [name, alg] of Object.entries(CIPHER_ALGORITHMS)) {
    try {
      if (alg === "chacha20") {
        if (chachaLayoutMatches()) ciphers.push(name);
        continue;
      }
      const keyLength = Number(/-(\d+)-/.exec(alg)?.[1]) / 8;
      const iv = new Uint8Array(alg.endsWith("gcm") ? 12 : 16);
      const c = createCipheriv(alg, createSecretKey(new Uint8Array(keyLength)), iv);
      if (c.update(new Uint8Array(32)).length === 32) ciphers.push(name);
    } catch {
      // Not available on this runtime: the portable provider covers it.
    }
  }
  const macs: string[] = [];
  for (const [name, hash] of Object.entries(MAC_HASHES)) {
    try {
      createHash(hash).update(new Uint8Array(1)).copy().digest();
      macs.push(name);
    } catch {
      // As above.
    }
  }
  availability = Object.freeze({ ciphers: Object.freeze(ciphers), macs: Object.freeze(macs) });
  return availability;
}

function chachaLayoutMatches(): boolean {
  const key = new Uint8Array(32).map((_, i) => i);
  const seq = 0x01020304;
  const native = createCipheriv("chacha20", createSecretKey(key), chachaIv(1, seq))
    .update(new Uint8Array(64));
  const js = new Uint8Array(64);
  chacha20XorInPlace(new ChaCha20Key(key), 1, 0, 0, bswap32(seq), js);
  return constantTimeEqual(native, 0, js, 0, 64);
}
