/**
 * Key generation: Ed25519, ECDSA on the three NIST curves, and RSA (pure BigInt).
 * Randomness is injected; the default is the platform CSPRNG.
 *
 * @module
 */

import { ed25519PublicKeyOf } from "../core/crypto/curve25519_backend.ts";
import { type RandomSource, systemRandom } from "../core/random.ts";
import { CURVES } from "./_curves.ts";
import { generateRsaKeyMaterial } from "./_crypto/rsa_keygen.ts";
import { SSHKey } from "./ssh_key.ts";
import { KeyGenerationError } from "./errors.ts";
import { bitLength } from "../core/publickey/bigint.ts";
import { RSA_MAX_EXPONENT_BITS } from "../core/publickey/blob.ts";

/** Algorithm names {@link generatePrivateKey} accepts (short or SSH names). */
export type GenerateAlgorithm =
  | "ed25519"
  | "ssh-ed25519"
  | "ecdsa"
  | "ecdsa-sha2-nistp256"
  | "ecdsa-sha2-nistp384"
  | "ecdsa-sha2-nistp521"
  | "rsa"
  | "ssh-rsa";

/** Options for {@link generatePrivateKey}. */
export interface GenerateOptions {
  /** Comment stored with the key. */
  readonly comment?: string;
  /** ECDSA: 256 (default), 384 or 521. RSA: bits, default 3072 (ssh-keygen's default). */
  readonly keySize?: number;
  /** RSA public exponent (default 65537). */
  readonly exponent?: number | bigint;
  /** Randomness (default: the platform CSPRNG). */
  readonly random?: RandomSource;
}

/** ssh-keygen's default RSA size. */
export const DEFAULT_RSA_BITS = 3072;

/**
 * Generates a new private key.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "@sshts/ssh";
 * const k = generatePrivateKey("ecdsa", { keySize: 384, comment: "me@host" });
 * console.log(k.getAlgorithm()); // "ecdsa-sha2-nistp384"
 * ```
 */
export function generatePrivateKey(
  algorithm: GenerateAlgorithm,
  options: GenerateOptions = {},
): SSHKey {
  const random = options.random ?? systemRandom;
  const comment = options.comment ?? "";
  switch (algorithm) {
    case "ed25519":
    case "ssh-ed25519": {
      if (options.keySize !== undefined && options.keySize !== 256) {
        throw new KeyGenerationError(
          `Cannot generate Ed25519 key: size is always 256, not ${options.keySize}`,
        );
      }
      const seed = random(32);
      return SSHKey.fromMaterial(
        { type: "ed25519", publicKey: ed25519PublicKeyOf(seed), seed },
        comment,
      );
    }
    case "ecdsa":
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521": {
      const size = algorithm === "ecdsa" ? options.keySize ?? 256 : Number(algorithm.slice(-3));
      if (algorithm !== "ecdsa" && options.keySize !== undefined && options.keySize !== size) {
        throw new KeyGenerationError(
          `Cannot generate ${algorithm} key: keySize ${options.keySize} contradicts it`,
        );
      }
      const info = Object.values(CURVES).find((c) => c.bits === size);
      if (!info) {
        throw new KeyGenerationError(
          `Cannot generate ECDSA key: size ${size} is not 256, 384 or 521`,
        );
      }
      const privateKey = info.curve.utils.randomSecretKey(random(info.curve.lengths.seed!));
      const publicKey = info.curve.getPublicKey(privateKey, false);
      return SSHKey.fromMaterial(
        { type: "ecdsa", curve: info.name, publicKey, privateKey },
        comment,
      );
    }
    case "rsa":
    case "ssh-rsa": {
      const bits = options.keySize ?? DEFAULT_RSA_BITS;
      const given = options.exponent ?? 65537;
      if (typeof given === "number" && !Number.isSafeInteger(given)) {
        throw new KeyGenerationError(
          `Cannot generate key: RSA exponent ${given} is not an integer`,
        );
      }
      const e = BigInt(given);
      // As a public key blob allows (RSA_MAX_EXPONENT_BITS): a key it could not import.
      if (e < 3n || (e & 1n) === 0n || bitLength(e) > RSA_MAX_EXPONENT_BITS) {
        throw new KeyGenerationError(
          `Cannot generate key: RSA exponent must be odd, at least 3 and at most ` +
            `${RSA_MAX_EXPONENT_BITS} bits`,
        );
      }
      return SSHKey.fromMaterial(generateRsaKeyMaterial(bits, e, random), comment);
    }
    default:
      throw new KeyGenerationError(`Cannot generate key: unsupported algorithm '${algorithm}'`);
  }
}
