/**
 * Key derivation from a finished key exchange (RFC 4253 §7.2):
 * `K1 = HASH(K || H || X || session_id)`, extended by
 * `K(n+1) = HASH(K || H || K1 || ... || Kn)` until enough bytes exist, where K is the
 * shared secret *as encoded* (mpint, or string for the post-quantum hybrids) and X
 * is one letter: A/B initial IV client→server / server→client, C/D encryption key,
 * E/F integrity key.
 *
 * @module
 */

import type { DirectionKeys } from "../crypto/types.ts";
import { concatBytes } from "../wire.ts";
import { kexDigest } from "./hash.ts";
import type { KexHashName } from "./types.ts";

/** How many bytes one direction needs. */
export interface DirectionNeeds {
  /** IV bytes (cipher's ivLength). */
  readonly ivLength: number;
  /** Encryption key bytes (cipher's keyLength). */
  readonly keyLength: number;
  /** Integrity key bytes (MAC's keyLength; 0 for AEAD ciphers). */
  readonly macKeyLength: number;
}

/** Keys for both directions. */
export interface DerivedKeys {
  /** Letters A, C, E. */
  readonly clientToServer: DirectionKeys;
  /** Letters B, D, F. */
  readonly serverToClient: DirectionKeys;
}

/**
 * Derives `length` bytes for one letter.
 *
 * @example
 * ```ts
 * import { deriveKey } from "./derive.ts";
 * const k = deriveKey("sha256", new Uint8Array([0, 0, 0, 1, 5]), new Uint8Array(32), "C",
 *   new Uint8Array(32), 64);
 * console.log(k.length); // 64
 * ```
 */
export function deriveKey(
  hash: KexHashName,
  sharedSecret: Uint8Array,
  exchangeHash: Uint8Array,
  letter: string,
  sessionId: Uint8Array,
  length: number,
): Uint8Array {
  if (letter.length !== 1 || letter < "A" || letter > "F") {
    throw new RangeError(`deriveKey() takes a letter A..F, got '${letter}'`);
  }
  const out = new Uint8Array(length);
  if (length === 0) return out;
  const first = kexDigest(
    hash,
    concatBytes(sharedSecret, exchangeHash, Uint8Array.of(letter.charCodeAt(0)), sessionId),
  );
  out.set(first.subarray(0, Math.min(length, first.length)));
  let have = first.length;
  while (have < length) {
    const next = kexDigest(hash, concatBytes(sharedSecret, exchangeHash, out.subarray(0, have)));
    out.set(next.subarray(0, Math.min(length - have, next.length)), have);
    have += next.length;
  }
  return out;
}

/**
 * Derives one direction's IV, encryption key and integrity key from three letters
 * (`["A", "C", "E"]` client→server, `["B", "D", "F"]` server→client).
 *
 * @example
 * ```ts
 * import { deriveDirectionKeys } from "./derive.ts";
 * const keys = deriveDirectionKeys("sha256", new Uint8Array(5), new Uint8Array(32),
 *   new Uint8Array(32), ["A", "C", "E"], { ivLength: 12, keyLength: 32, macKeyLength: 0 });
 * console.log(keys.iv.length, keys.encKey.length, keys.macKey.length); // 12 32 0
 * ```
 */
export function deriveDirectionKeys(
  hash: KexHashName,
  sharedSecret: Uint8Array,
  exchangeHash: Uint8Array,
  sessionId: Uint8Array,
  letters: readonly [string, string, string],
  needs: DirectionNeeds,
): DirectionKeys {
  const [iv, enc, mac] = letters;
  return {
    iv: deriveKey(hash, sharedSecret, exchangeHash, iv, sessionId, needs.ivLength),
    encKey: deriveKey(hash, sharedSecret, exchangeHash, enc, sessionId, needs.keyLength),
    macKey: deriveKey(hash, sharedSecret, exchangeHash, mac, sessionId, needs.macKeyLength),
  };
}

/**
 * Derives the keys of both directions (letters A..F). `sessionId` is the exchange
 * hash of the connection's first key exchange.
 *
 * @example
 * ```ts
 * import { deriveKeys } from "./derive.ts";
 * const needs = { ivLength: 16, keyLength: 16, macKeyLength: 32 };
 * const H = new Uint8Array(32).fill(1);
 * const keys = deriveKeys("sha256", new Uint8Array([0, 0, 0, 1, 7]), H, H,
 *   { clientToServer: needs, serverToClient: needs });
 * console.log(keys.serverToClient.macKey.length); // 32
 * ```
 */
export function deriveKeys(
  hash: KexHashName,
  sharedSecret: Uint8Array,
  exchangeHash: Uint8Array,
  sessionId: Uint8Array,
  needed: { readonly clientToServer: DirectionNeeds; readonly serverToClient: DirectionNeeds },
): DerivedKeys {
  return {
    clientToServer: deriveDirectionKeys(
      hash,
      sharedSecret,
      exchangeHash,
      sessionId,
      ["A", "C", "E"],
      needed.clientToServer,
    ),
    serverToClient: deriveDirectionKeys(
      hash,
      sharedSecret,
      exchangeHash,
      sessionId,
      ["B", "D", "F"],
      needed.serverToClient,
    ),
  };
}
