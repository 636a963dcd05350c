/**
 * What the post-quantum KEMs share: the injected randomness type and the typed
 * error thrown for inputs of the wrong size (or, for ML-KEM, a malformed key).
 *
 * @module
 */

import { LocalProtocolError } from "../errors.ts";
import type { RandomSource } from "../random.ts";

/**
 * Injected randomness: returns exactly `n` fresh random bytes. The KEMs never
 * touch a global random source; pass `systemRandom` from `core/random.ts` in
 * production and a seeded source in tests.
 *
 * @example
 * ```ts
 * import type { RandomBytes } from "./errors.ts";
 * const zeros: RandomBytes = (n) => new Uint8Array(n); // for tests only!
 * console.log(zeros(4).length); // 4
 * ```
 */
export type RandomBytes = RandomSource;

/** Why a {@link PqInputError} was raised. */
export type PqInputProblem = "length" | "malformed";

/**
 * A KEM input was unusable: a public key, secret key, ciphertext or random
 * source output of the wrong length, or (ML-KEM only) a key that fails the
 * FIPS 203 input checks. Its `code` is `"ERR_LOCAL_PROTOCOL"` like every API
 * misuse in this library; `input`, `expected` and `actual` say what was wrong.
 * A well-sized but corrupted ciphertext never raises it: decapsulation then
 * returns a pseudo-random secret (implicit rejection).
 *
 * @example
 * ```ts
 * import { PqInputError } from "@sshts/ssh";
 * const e = new PqInputError("ciphertext", 1039, 12);
 * console.log(e.code, e.input, e.expected, e.actual); // ERR_LOCAL_PROTOCOL ciphertext 1039 12
 * ```
 */
export class PqInputError extends LocalProtocolError {
  /** Which input was wrong, e.g. "publicKey", "secretKey", "ciphertext", "random". */
  readonly input: string;
  /** The length the input must have, in bytes. */
  readonly expected: number;
  /** The length the input had, in bytes (-1 when it was not a Uint8Array). */
  readonly actual: number;
  /** "length" for a wrong size; "malformed" for a well-sized key that fails validation. */
  readonly problem: PqInputProblem;

  /** Creates the error; the message names the input and both lengths. */
  constructor(
    input: string,
    expected: number,
    actual: number,
    problem: PqInputProblem = "length",
    options?: ErrorOptions,
  ) {
    super(
      problem === "malformed"
        ? `Invalid ${input}: the ${actual}-byte value fails the key validation check`
        : actual < 0
        ? `Invalid ${input}: expected ${expected} bytes in a Uint8Array, got another type`
        : `Invalid ${input}: expected ${expected} bytes, got ${actual}`,
      options,
    );
    this.name = "PqInputError";
    this.input = input;
    this.expected = expected;
    this.actual = actual;
    this.problem = problem;
  }
}

/**
 * Throws {@link PqInputError} unless `value` is a Uint8Array of exactly `expected` bytes.
 *
 * @example
 * ```ts
 * import { checkLength } from "./errors.ts";
 * checkLength("publicKey", new Uint8Array(32), 32); // fine
 * ```
 */
export function checkLength(input: string, value: unknown, expected: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new PqInputError(input, expected, -1, "length");
  }
  if (value.length !== expected) throw new PqInputError(input, expected, value.length, "length");
  return value;
}

/**
 * Calls the injected source for `n` bytes and checks that it returned exactly that many.
 *
 * @example
 * ```ts
 * import { drawRandom } from "./errors.ts";
 * console.log(drawRandom((n) => new Uint8Array(n), 8).length); // 8
 * ```
 */
export function drawRandom(random: RandomBytes, n: number): Uint8Array {
  return checkLength("random", random(n), n);
}
