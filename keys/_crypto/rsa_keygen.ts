/**
 * RSA key generation for keys/: the arithmetic lives in
 * `core/publickey/rsa_keygen.ts` (the RSA key exchange needs it too); this
 * module reports bad sizes as {@link KeyGenerationError}.
 *
 * @module
 */

import {
  generateRsaKeyMaterial as generateCore,
  isProbablePrime,
} from "../../core/publickey/rsa_keygen.ts";
import type { RsaKeyMaterial } from "../../core/publickey/types.ts";
import type { RandomSource } from "../../core/random.ts";
import { KeyGenerationError } from "../errors.ts";

export { isProbablePrime };

/**
 * Generates an RSA key of `bits` bits (1024..16384, a multiple of 8) with public
 * exponent `e` (odd, at least 3; default 65537).
 *
 * @example
 * ```ts
 * import { generateRsaKeyMaterial } from "./rsa_keygen.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const k = generateRsaKeyMaterial(1024, 65537n, seededRandom(1));
 * console.log(k.n.toString(2).length); // 1024
 * ```
 */
export function generateRsaKeyMaterial(
  bits: number,
  e: bigint,
  random: RandomSource,
): RsaKeyMaterial {
  try {
    return generateCore(bits, e, random);
  } catch (err) {
    if (err instanceof RangeError) throw new KeyGenerationError(err.message, { cause: err });
    throw err;
  }
}
