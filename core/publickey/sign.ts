/**
 * Making SSH signatures with a private key: Ed25519, ECDSA (deterministic, RFC 6979, unless
 * the system random source is given and a native signer is installed) and RSA (PKCS#1 v1.5
 * with SHA-512, SHA-256 or legacy SHA-1). The result is the complete signature blob
 * `string algorithm, string signature`.
 *
 * @module
 */

import { curve25519Backend } from "../crypto/curve25519_backend.ts";
import { LocalProtocolError } from "../errors.ts";
import { type RandomSource, systemRandom } from "../random.ts";
import { bigIntToBytes, bytesToBigInt, SSHWriter } from "../wire.ts";
import { publicKeyTypeName, signatureAlgorithmsForKey } from "./algorithms.ts";
import { ECDSA_CURVES, ecdsaCompactToSsh, ecdsaSignSsh } from "./ecdsa.ts";
import { signatureBackend } from "./signature_backend.ts";
import { rsaHashForAlgorithm, rsaSignPkcs1v15 } from "./rsa.ts";
import type { EcdsaCurveName, KeyMaterial } from "./types.ts";

function blob(algorithm: string, inner: Uint8Array): Uint8Array {
  return new SSHWriter(inner.length + algorithm.length + 8)
    .writeStringUtf8(algorithm)
    .writeString(inner)
    .toBytes();
}

/**
 * A native ECDSA signature (r ‖ s), or undefined for the portable path: only a scalar in
 * [1, n - 1], padded to the curve's size, goes native (the portable path refuses the rest
 * with a typed error).
 */
function nativeEcdsa(
  curve: EcdsaCurveName,
  d: Uint8Array,
  publicKey: Uint8Array,
  data: Uint8Array,
): Uint8Array | undefined {
  const { size, order } = ECDSA_CURVES[curve];
  const scalar = bytesToBigInt(d);
  if (scalar <= 0n || scalar >= order) return undefined;
  return signatureBackend()?.ecdsaSign(curve, bigIntToBytes(scalar, size), publicKey, data);
}

/**
 * Signs `data` with the private `key` using `algorithm` and returns the SSH
 * signature blob. `random` is used for RSA blinding (a key-derived stream stands in
 * when it is absent); Ed25519 is deterministic, and so is ECDSA (RFC 6979) unless `random`
 * is the system random source and `io/` installed a native ECDSA signer for the curve, whose
 * nonce is random (a signature from either verifies the same).
 * Throws {@link LocalProtocolError} when the key has no private part, the algorithm
 * does not fit the key, or the key type cannot sign here (DSA, `sk-*`).
 *
 * @example
 * ```ts
 * import { p256 } from "@noble/curves/nist.js";
 * import { signData } from "@sshts/ssh/core";
 * import { verifySignature } from "./verify.ts";
 * const privateKey = new Uint8Array(32).fill(5);
 * const key = {
 *   type: "ecdsa" as const,
 *   curve: "nistp256" as const,
 *   publicKey: p256.getPublicKey(privateKey, false),
 *   privateKey,
 * };
 * const data = new TextEncoder().encode("hello");
 * console.log(verifySignature(key, signData(key, "ecdsa-sha2-nistp256", data), data)); // true
 * ```
 */
export function signData(
  key: KeyMaterial,
  algorithm: string,
  data: Uint8Array,
  random?: RandomSource,
): Uint8Array {
  if (!signatureAlgorithmsForKey(key).includes(algorithm)) {
    throw new LocalProtocolError(
      `Cannot sign with '${algorithm}': the key is of type '${publicKeyTypeName(key)}'`,
    );
  }
  switch (key.type) {
    case "ed25519": {
      if (key.seed === undefined || key.seed.length !== 32) {
        throw new LocalProtocolError("Cannot sign with ssh-ed25519: the key has no 32-byte seed");
      }
      return blob(algorithm, curve25519Backend().ed25519Sign(key.seed, data));
    }
    case "ecdsa": {
      const d = key.privateKey;
      if (d === undefined || d.length === 0 || d.length > ECDSA_CURVES[key.curve].size + 1) {
        throw new LocalProtocolError(
          `Cannot sign with ${algorithm}: the key has no private scalar`,
        );
      }
      // A native signature takes a random nonce: only when the caller asks for the system
      // random source. Without one, signatures stay RFC 6979's (deterministic, as before);
      // a seeded source must reproduce them byte for byte.
      const native = random === systemRandom
        ? nativeEcdsa(key.curve, d, key.publicKey, data)
        : undefined;
      if (native) return blob(algorithm, ecdsaCompactToSsh(key.curve, native));
      try {
        return blob(algorithm, ecdsaSignSsh(key.curve, d, data));
      } catch (cause) {
        throw new LocalProtocolError(`Cannot sign with ${algorithm}: invalid private scalar`, {
          cause,
        });
      }
    }
    case "rsa": {
      if (key.d === undefined && (key.p === undefined || key.q === undefined)) {
        throw new LocalProtocolError(`Cannot sign with ${algorithm}: the key has no private part`);
      }
      const hash = rsaHashForAlgorithm(algorithm)!;
      return blob(algorithm, rsaSignPkcs1v15(key, hash, data, random));
    }
    case "dsa":
      throw new LocalProtocolError(
        "Cannot sign with ssh-dss: DSA keys are supported for verification only",
      );
    case "sk-ed25519":
    case "sk-ecdsa":
      throw new LocalProtocolError(
        `Cannot sign with ${algorithm}: security-key signatures come from the authenticator`,
      );
  }
}
