/**
 * Post-quantum KEMs for the hybrid SSH key exchanges: sntrup761
 * (`sntrup761x25519-sha512`) and ML-KEM-768 (`mlkem768x25519-sha256`).
 * Both take injected randomness and raise {@link PqInputError} for bad inputs.
 *
 * @example
 * ```ts
 * import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761Keypair } from "./mod.ts";
 * import { systemRandom } from "@sshts/ssh/core";
 * const { publicKey, secretKey } = sntrup761Keypair(systemRandom);
 * const { ciphertext, sharedSecret } = sntrup761Encapsulate(publicKey, systemRandom);
 * console.log(sntrup761Decapsulate(ciphertext, secretKey).join() === sharedSecret.join());
 * ```
 *
 * @module
 */

export {
  checkLength,
  drawRandom,
  PqInputError,
  type PqInputProblem,
  type RandomBytes,
} from "./errors.ts";
export {
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  SNTRUP761_SECRET_KEY_BYTES,
  SNTRUP761_SHARED_SECRET_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761Keypair,
} from "./sntrup761.ts";
export {
  MLKEM768_CIPHERTEXT_BYTES,
  MLKEM768_PUBLIC_KEY_BYTES,
  MLKEM768_SECRET_KEY_BYTES,
  MLKEM768_SEED_BYTES,
  MLKEM768_SHARED_SECRET_BYTES,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768Keypair,
} from "./mlkem768.ts";
