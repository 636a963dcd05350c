/**
 * A seam for RSA and ECDSA signatures: the portable path is our BigInt RSA and
 * `@noble/curves`' ECDSA, which cost milliseconds in JavaScript (an RSA-3072 signature
 * 16 ms, a P-256 verification 3 ms); `io/` may install a native backend (node:crypto) after
 * checking it against the portable one. A client signs its login with its key, a server
 * signs every key exchange with its host key, and each side verifies the other's: with RSA
 * or ECDSA keys these were most of a login's CPU.
 *
 * Every function is synchronous (the engine stays sans-IO) and may decline (undefined):
 * the portable path then answers. ECDSA signatures from a native backend use a random
 * nonce, not RFC 6979's derived one, so callers that must reproduce a signature byte for
 * byte (a seeded random source) do not use {@link SignatureBackend.ecdsaSign}.
 *
 * @module
 */

import type { EcdsaCurveName, RsaHashName, RsaKeyMaterial } from "./types.ts";

/** RSA (PKCS #1 v1.5) and ECDSA primitives, all synchronous; undefined = not handled. */
export interface SignatureBackend {
  /** Names the backend (for reporting: "node:crypto"). */
  readonly name: string;
  /** The PKCS #1 v1.5 signature (k bytes) of `data` with `hash`, for a private key. */
  rsaSign(key: RsaKeyMaterial, hash: RsaHashName, data: Uint8Array): Uint8Array | undefined;
  /** Whether `signature` is a PKCS #1 v1.5 signature of `data` under (n, e). */
  rsaVerify(
    n: bigint,
    e: bigint,
    hash: RsaHashName,
    data: Uint8Array,
    signature: Uint8Array,
  ): boolean | undefined;
  /**
   * The ECDSA signature of `data` (hashed with the curve's hash) as r ‖ s, each the curve's
   * size, for the private scalar (big-endian, curve size) of the key whose public point is
   * `publicKey` (SEC1 uncompressed).
   */
  ecdsaSign(
    curve: EcdsaCurveName,
    privateKey: Uint8Array,
    publicKey: Uint8Array,
    data: Uint8Array,
  ): Uint8Array | undefined;
  /** Whether r ‖ s (each the curve's size) signs `data` under the point `publicKey`. */
  ecdsaVerify(
    curve: EcdsaCurveName,
    publicKey: Uint8Array,
    compact: Uint8Array,
    data: Uint8Array,
  ): boolean | undefined;
  /** The public point (SEC1 uncompressed) of a private scalar (big-endian, curve size). */
  ecdsaPublicKey(curve: EcdsaCurveName, privateKey: Uint8Array): Uint8Array | undefined;
}

let current: SignatureBackend | null = null;

/**
 * The native backend in use, or null (the portable path only).
 *
 * @example
 * ```ts
 * import { signatureBackend } from "./signature_backend.ts";
 * console.log(signatureBackend()?.name ?? "portable");
 * ```
 */
export function signatureBackend(): SignatureBackend | null {
  return current;
}

/**
 * Installs a backend for every later RSA and ECDSA operation (null: portable only). The
 * caller checks it first; this does not.
 *
 * @example
 * ```ts
 * import { registerSignatureBackend } from "./signature_backend.ts";
 * registerSignatureBackend(null);
 * ```
 */
export function registerSignatureBackend(backend: SignatureBackend | null): void {
  current = backend;
}
