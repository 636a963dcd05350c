/**
 * ML-KEM-768 (FIPS 203), the KEM of the `mlkem768x25519-sha256` SSH key
 * exchange: a thin wrapper over `@noble/post-quantum` with the same shape as
 * {@link ./sntrup761.ts}: randomness is injected, sizes are checked up front
 * and every bad input raises {@link PqInputError}.
 *
 * Decapsulation of a well-sized ciphertext never throws: a corrupted one
 * yields the FIPS 203 implicit-rejection secret J(z || c). Constant-time
 * behaviour is that of `@noble/post-quantum`: it computes both candidate
 * secrets and compares the ciphertexts without an early exit, but picks the
 * result with a JavaScript conditional, and JavaScript engines promise no
 * timing behaviour at all (see the caveats in ./sntrup761.ts).
 *
 * @module
 */

import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { systemRandom } from "../random.ts";
import { checkLength, drawRandom, PqInputError, type RandomBytes } from "./errors.ts";
import { type Pending, pending } from "../pending.ts";

export { PqInputError };
export type { RandomBytes };

/** Size of an ML-KEM-768 encapsulation (public) key in bytes. */
export const MLKEM768_PUBLIC_KEY_BYTES = 1184;
/** Size of an ML-KEM-768 decapsulation (secret) key in bytes, in the FIPS 203 expanded form. */
export const MLKEM768_SECRET_KEY_BYTES = 2400;
/** Size of an ML-KEM-768 ciphertext in bytes. */
export const MLKEM768_CIPHERTEXT_BYTES = 1088;
/** Size of an ML-KEM-768 shared secret in bytes. */
export const MLKEM768_SHARED_SECRET_BYTES = 32;

/** Size of an ML-KEM-768 key seed in bytes: d ‖ z of ML-KEM.KeyGen_internal (FIPS 203). */
export const MLKEM768_SEED_BYTES = 64;
const MESSAGE_BYTES = 32; // m of ML-KEM.Encaps_internal

/**
 * A native ML-KEM-768 that `io/` may install (OpenSSL 3.5 through node:crypto: a tenth of
 * the portable path's CPU). Its key generation and encapsulation draw their own
 * randomness, so they are used only with the system random source: a seeded handshake
 * still takes every secret from its seed.
 *
 * @example
 * ```ts
 * import type { MlKem768Backend } from "./mlkem768.ts";
 * const none: MlKem768Backend | null = null; // io/crypto/native_mlkem.ts provides one
 * console.log(none === null); // true
 * ```
 */
export interface MlKem768Backend {
  /** Names the backend (for reporting). */
  readonly name: string;
  /**
   * A fresh key pair; the secret key in the FIPS 203 expanded form (2400 bytes) or as the
   * 64-byte seed d ‖ z, which {@link mlkem768Decapsulate} takes too.
   */
  generate(): { publicKey: Uint8Array; secretKey: Uint8Array };
  /** Encapsulates to a 1184-byte key; throws for one that fails the FIPS 203 modulus check. */
  encapsulate(publicKey: Uint8Array): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  /**
   * Decapsulates with a secret key this backend generated (implicit rejection for a bad
   * ciphertext, as FIPS 203 says); undefined for any other key, which the portable path takes.
   */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array | undefined;
}

let backend: MlKem768Backend | null = null;

/**
 * An asynchronous native ML-KEM-768 that `io/` may install where the runtime has it only
 * behind promises (WebCrypto on Deno and Bun: a tenth of the portable path's CPU). Used,
 * like {@link MlKem768Backend}, only with the system random source, and only by a key
 * exchange whose transport can wait (its `*Later` functions below).
 *
 * @example
 * ```ts
 * import type { MlKem768AsyncBackend } from "./mlkem768.ts";
 * const none: MlKem768AsyncBackend | null = null; // io/crypto/native_mlkem.ts provides one
 * console.log(none === null); // true
 * ```
 */
export interface MlKem768AsyncBackend {
  /** Names the backend (for reporting). */
  readonly name: string;
  /**
   * A fresh key pair; the secret key is the 64-byte FIPS 203 seed d ‖ z, which
   * {@link mlkem768Decapsulate} also takes.
   */
  generate(): Promise<{ publicKey: Uint8Array; secretKey: Uint8Array }>;
  /** Encapsulates to a 1184-byte key; rejects for one that fails the FIPS 203 modulus check. */
  encapsulate(publicKey: Uint8Array): Promise<{ ciphertext: Uint8Array; sharedSecret: Uint8Array }>;
  /**
   * Decapsulates with a secret key this backend generated (implicit rejection for a bad
   * ciphertext); undefined for any other key.
   */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> | undefined;
}

let asyncBackend: MlKem768AsyncBackend | null = null;

/**
 * Installs an asynchronous native ML-KEM-768 for later key exchanges that can wait (null:
 * none). The caller checks it first; this does not.
 *
 * @example
 * ```ts
 * import { registerMlKem768AsyncBackend } from "./mlkem768.ts";
 * registerMlKem768AsyncBackend(null);
 * ```
 */
export function registerMlKem768AsyncBackend(b: MlKem768AsyncBackend | null): void {
  asyncBackend = b;
}

/**
 * The asynchronous native ML-KEM-768 in use, or null.
 *
 * @example
 * ```ts
 * import { mlkem768AsyncBackend } from "./mlkem768.ts";
 * console.log(mlkem768AsyncBackend()?.name ?? "none");
 * ```
 */
export function mlkem768AsyncBackend(): MlKem768AsyncBackend | null {
  return asyncBackend;
}

/**
 * Installs a native ML-KEM-768 for every later key exchange (null: the portable path only).
 * The caller checks it first; this does not.
 *
 * @example
 * ```ts
 * import { registerMlKem768Backend } from "./mlkem768.ts";
 * registerMlKem768Backend(null);
 * ```
 */
export function registerMlKem768Backend(b: MlKem768Backend | null): void {
  backend = b;
}

/**
 * The native ML-KEM-768 in use, or null.
 *
 * @example
 * ```ts
 * import { mlkem768Backend } from "./mlkem768.ts";
 * console.log(mlkem768Backend()?.name ?? "noble");
 * ```
 */
export function mlkem768Backend(): MlKem768Backend | null {
  return backend;
}

/**
 * Generates an ML-KEM-768 key pair from 64 bytes drawn from `random`
 * (the seeds d and z of FIPS 203, in that order).
 *
 * @example
 * ```ts
 * import { mlkem768Keypair } from "./mlkem768.ts";
 * import { systemRandom } from "@sshts/ssh/core";
 * const { publicKey, secretKey } = mlkem768Keypair(systemRandom);
 * // 1184 2400 on the portable path; a native backend may hand out the 64-byte seed instead
 * console.log(publicKey.length, secretKey.length);
 * ```
 */
export function mlkem768Keypair(
  random: RandomBytes,
): { publicKey: Uint8Array; secretKey: Uint8Array } {
  if (random === systemRandom && backend) return backend.generate();
  const seed = drawRandom(random, MLKEM768_SEED_BYTES);
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  seed.fill(0);
  return { publicKey, secretKey };
}

/**
 * Encapsulates a fresh shared secret to `publicKey`, drawing the 32-byte
 * message m from `random`. Throws {@link PqInputError} when the key is not
 * 1184 bytes, or (problem "malformed") when it fails the FIPS 203 modulus check.
 *
 * @example
 * ```ts
 * import { mlkem768Decapsulate, mlkem768Encapsulate, mlkem768Keypair } from "./mlkem768.ts";
 * import { systemRandom } from "@sshts/ssh/core";
 * const { publicKey, secretKey } = mlkem768Keypair(systemRandom);
 * const { ciphertext, sharedSecret } = mlkem768Encapsulate(publicKey, systemRandom);
 * const again = mlkem768Decapsulate(ciphertext, secretKey);
 * console.log(sharedSecret.join() === again.join()); // true
 * ```
 */
export function mlkem768Encapsulate(
  publicKey: Uint8Array,
  random: RandomBytes,
): { ciphertext: Uint8Array; sharedSecret: Uint8Array } {
  checkLength("publicKey", publicKey, MLKEM768_PUBLIC_KEY_BYTES);
  // Sizes were checked above: what either path refuses is the encapsulation key check.
  const malformed = (cause: unknown) =>
    new PqInputError("publicKey", MLKEM768_PUBLIC_KEY_BYTES, publicKey.length, "malformed", {
      cause,
    });
  if (random === systemRandom && backend) {
    try {
      return backend.encapsulate(publicKey);
    } catch (cause) {
      throw malformed(cause);
    }
  }
  const message = drawRandom(random, MESSAGE_BYTES);
  try {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, message);
    // noble returns a view of a 64-byte buffer; hand out a standalone copy.
    const secret = sharedSecret.slice();
    sharedSecret.fill(0);
    return { ciphertext: cipherText, sharedSecret: secret };
  } catch (cause) {
    throw malformed(cause);
  } finally {
    message.fill(0);
  }
}

/**
 * Decapsulates `ciphertext` with `secretKey`: the FIPS 203 expanded key (2400 bytes), or the
 * 64-byte seed d ‖ z a backend hands out (decapsulated by the backend that made it while that
 * one is installed, else expanded here first: a key generation). A corrupted but well-sized
 * ciphertext gives a pseudo-random secret (implicit rejection), never an exception. Throws {@link PqInputError} for wrong sizes, or (problem
 * "malformed") for a secret key whose embedded hash of the public key does not
 * match (the FIPS 203 decapsulation key check).
 *
 * @example
 * ```ts
 * import { mlkem768Decapsulate, mlkem768Encapsulate, mlkem768Keypair } from "./mlkem768.ts";
 * import { systemRandom } from "@sshts/ssh/core";
 * const { publicKey, secretKey } = mlkem768Keypair(systemRandom);
 * const { ciphertext } = mlkem768Encapsulate(publicKey, systemRandom);
 * ciphertext[0]! ^= 1;
 * console.log(mlkem768Decapsulate(ciphertext, secretKey).length); // 32
 * ```
 */
export function mlkem768Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkLength("ciphertext", ciphertext, MLKEM768_CIPHERTEXT_BYTES);
  if (secretKey.length === MLKEM768_SEED_BYTES) {
    // The seed form a backend hands out: its own key first, else expanded here (a key
    // generation).
    const native = backend?.decapsulate(ciphertext, secretKey);
    if (native !== undefined) return native;
    const expanded = ml_kem768.keygen(secretKey).secretKey;
    try {
      return ml_kem768.decapsulate(ciphertext, expanded);
    } finally {
      expanded.fill(0);
    }
  }
  checkLength("secretKey", secretKey, MLKEM768_SECRET_KEY_BYTES);
  const native = backend?.decapsulate(ciphertext, secretKey);
  if (native !== undefined) return native;
  try {
    return ml_kem768.decapsulate(ciphertext, secretKey);
  } catch (cause) {
    throw new PqInputError(
      "secretKey",
      MLKEM768_SECRET_KEY_BYTES,
      secretKey.length,
      "malformed",
      { cause },
    );
  }
}

/**
 * {@link mlkem768Keypair} through the asynchronous backend, or undefined where there is none
 * (or `random` is not the system's: a seeded exchange takes every secret from its seed).
 *
 * @example
 * ```ts
 * import { mlkem768KeypairLater } from "./mlkem768.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * console.log(mlkem768KeypairLater(seededRandom(1))); // undefined
 * ```
 */
export function mlkem768KeypairLater(
  random: RandomBytes,
): Pending<{ publicKey: Uint8Array; secretKey: Uint8Array }> | undefined {
  if (random !== systemRandom || asyncBackend === null) return undefined;
  return pending(asyncBackend.generate());
}

/**
 * {@link mlkem768Encapsulate} through the asynchronous backend, or undefined where there is
 * none. Its value throws {@link PqInputError} (problem "malformed") for a key that fails the
 * FIPS 203 modulus check; a key of the wrong size throws at once.
 *
 * @example
 * ```ts
 * import { mlkem768EncapsulateLater } from "./mlkem768.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * console.log(mlkem768EncapsulateLater(new Uint8Array(1184), seededRandom(1))); // undefined
 * ```
 */
export function mlkem768EncapsulateLater(
  publicKey: Uint8Array,
  random: RandomBytes,
): Pending<{ ciphertext: Uint8Array; sharedSecret: Uint8Array }> | undefined {
  checkLength("publicKey", publicKey, MLKEM768_PUBLIC_KEY_BYTES);
  if (random !== systemRandom || asyncBackend === null) return undefined;
  const length = publicKey.length;
  return pending(
    asyncBackend.encapsulate(publicKey).catch((cause) => {
      throw new PqInputError("publicKey", MLKEM768_PUBLIC_KEY_BYTES, length, "malformed", {
        cause,
      });
    }),
  );
}

/**
 * {@link mlkem768Decapsulate} through the asynchronous backend, for a secret key it
 * generated; undefined for any other key.
 *
 * @example
 * ```ts
 * import { mlkem768DecapsulateLater } from "./mlkem768.ts";
 * console.log(mlkem768DecapsulateLater(new Uint8Array(1088), new Uint8Array(2400))); // undefined
 * ```
 */
export function mlkem768DecapsulateLater(
  ciphertext: Uint8Array,
  secretKey: Uint8Array,
): Pending<Uint8Array> | undefined {
  checkLength("ciphertext", ciphertext, MLKEM768_CIPHERTEXT_BYTES);
  const later = asyncBackend?.decapsulate(ciphertext, secretKey);
  return later === undefined ? undefined : pending(later);
}
