/**
 * DSA verification for legacy `ssh-dss` keys (RFC 4253 §6.6; FIPS 186-2 with SHA-1,
 * 160-bit q). Verify only: we never make DSA signatures.
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { bytesToBigInt } from "../wire.ts";
import { modInverse, modPow } from "./bigint.ts";
import type { DsaKeyMaterial } from "./types.ts";

/**
 * Verifies the 40-byte `r || s` inner blob of an `ssh-dss` signature over `data`.
 * Returns false for any malformed input; never throws.
 *
 * @example
 * ```ts
 * import { dsaVerifySsh } from "./dsa.ts";
 * const key = { type: "dsa" as const, p: 23n, q: 11n, g: 4n, y: 8n };
 * console.log(dsaVerifySsh(key, new Uint8Array(40), new Uint8Array(0))); // false
 * ```
 */
export function dsaVerifySsh(key: DsaKeyMaterial, inner: Uint8Array, data: Uint8Array): boolean {
  if (inner.length !== 40) return false;
  const { p, q, g, y } = key;
  const r = bytesToBigInt(inner.subarray(0, 20));
  const s = bytesToBigInt(inner.subarray(20));
  if (r <= 0n || r >= q || s <= 0n || s >= q) return false;
  try {
    const w = modInverse(s, q);
    // With SHA-1 and a 160-bit q the whole digest is the integer z (FIPS 186-2).
    const z = bytesToBigInt(sha1(data));
    const u1 = (z * w) % q;
    const u2 = (r * w) % q;
    const v = ((modPow(g, u1, p) * modPow(y, u2, p)) % p) % q;
    return v === r;
  } catch {
    return false;
  }
}
