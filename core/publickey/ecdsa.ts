/**
 * ECDSA over the NIST curves as SSH uses it (RFC 5656 §3.1.2): the hash is fixed by
 * the curve (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512) and r, s travel as two
 * mpints. Signing is deterministic (RFC 6979, via @noble/curves).
 *
 * High-S signatures are accepted and produced: OpenSSH (OpenSSL) does not normalise
 * s, so rejecting high S would reject valid peers.
 *
 * @module
 */

import { p256, p384, p521 } from "@noble/curves/nist.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { bigIntToBytes, bytesToBigInt, SSHReader, SSHWriter } from "../wire.ts";
import type { EcdsaCurveName } from "./types.ts";
import { signatureBackend } from "./signature_backend.ts";

/** What SSH needs to know about one curve. */
export interface EcdsaCurveInfo {
  /** The noble curve. */
  readonly curve: typeof p256;
  /** The hash the SSH algorithm uses with this curve. */
  readonly hash: (data: Uint8Array) => Uint8Array;
  /** Bytes of one field element / scalar. */
  readonly size: number;
  /** The group order n. */
  readonly order: bigint;
}

/**
 * Curve facts by SSH curve name.
 *
 * @example
 * ```ts
 * import { ECDSA_CURVES } from "./ecdsa.ts";
 * console.log(ECDSA_CURVES.nistp521.size); // 66
 * ```
 */
export const ECDSA_CURVES: Readonly<Record<EcdsaCurveName, EcdsaCurveInfo>> = Object.freeze({
  nistp256: {
    curve: p256,
    hash: (d: Uint8Array) => sha256(d),
    size: 32,
    order: p256.Point.Fn.ORDER,
  },
  nistp384: {
    curve: p384,
    hash: (d: Uint8Array) => sha384(d),
    size: 48,
    order: p384.Point.Fn.ORDER,
  },
  nistp521: {
    curve: p521,
    hash: (d: Uint8Array) => sha512(d),
    size: 66,
    order: p521.Point.Fn.ORDER,
  },
});

/**
 * Verifies the inner ECDSA signature blob (`mpint r, mpint s`) over `data` with the
 * uncompressed point `publicKey`. `prehashed` skips the curve hash (sk-ecdsa hashes
 * its own message). Returns false for any malformed input; never throws.
 *
 * @example
 * ```ts
 * import { ecdsaVerifySsh } from "./ecdsa.ts";
 * console.log(ecdsaVerifySsh("nistp256", new Uint8Array(65), new Uint8Array(0), new Uint8Array(0)));
 * // false
 * ```
 */
export function ecdsaVerifySsh(
  curveName: EcdsaCurveName,
  publicKey: Uint8Array,
  inner: Uint8Array,
  data: Uint8Array,
  prehashed?: Uint8Array,
): boolean {
  const info = ECDSA_CURVES[curveName];
  try {
    const r = new SSHReader(inner);
    const rv = r.readMpint("ecdsa r", info.size + 1);
    const sv = r.readMpint("ecdsa s", info.size + 1);
    r.assertEnd("ecdsa signature");
    if (rv <= 0n || rv >= info.order || sv <= 0n || sv >= info.order) return false;
    const compact = new Uint8Array(2 * info.size);
    compact.set(bigIntToBytes(rv, info.size), 0);
    compact.set(bigIntToBytes(sv, info.size), info.size);
    if (prehashed === undefined) {
      const native = signatureBackend()?.ecdsaVerify(curveName, publicKey, compact, data);
      if (native !== undefined) return native;
    }
    const digest = prehashed ?? info.hash(data);
    return info.curve.verify(compact, digest, publicKey, { prehash: false, lowS: false });
  } catch {
    return false;
  }
}

/**
 * The inner SSH blob `mpint r, mpint s` of a signature given as r ‖ s (each the curve's
 * size), as native libraries return it.
 *
 * @example
 * ```ts
 * import { ecdsaCompactToSsh } from "./ecdsa.ts";
 * console.log(ecdsaCompactToSsh("nistp256", new Uint8Array(64).fill(1)).length); // 72
 * ```
 */
export function ecdsaCompactToSsh(curveName: EcdsaCurveName, compact: Uint8Array): Uint8Array {
  const size = ECDSA_CURVES[curveName].size;
  return new SSHWriter(2 * size + 10)
    .writeMpintMagnitude(compact.subarray(0, size))
    .writeMpintMagnitude(compact.subarray(size))
    .toBytes();
}

/**
 * Signs `data` (or a given digest) and returns the inner SSH blob `mpint r, mpint s`.
 * `privateKey` is the big-endian scalar of any length up to the curve size.
 *
 * @example
 * ```ts
 * import { ecdsaSignSsh, ecdsaVerifySsh, ECDSA_CURVES } from "./ecdsa.ts";
 * const d = new Uint8Array(32).fill(3);
 * const q = ECDSA_CURVES.nistp256.curve.getPublicKey(d, false);
 * const msg = new TextEncoder().encode("hi");
 * console.log(ecdsaVerifySsh("nistp256", q, ecdsaSignSsh("nistp256", d, msg), msg)); // true
 * ```
 */
export function ecdsaSignSsh(
  curveName: EcdsaCurveName,
  privateKey: Uint8Array,
  data: Uint8Array,
  prehashed?: Uint8Array,
): Uint8Array {
  const info = ECDSA_CURVES[curveName];
  const d = bigIntToBytes(bytesToBigInt(privateKey), info.size);
  const digest = prehashed ?? info.hash(data);
  const compact = info.curve.sign(digest, d, { prehash: false, lowS: false });
  return ecdsaCompactToSsh(curveName, compact);
}
